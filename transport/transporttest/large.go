package transporttest

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// largeTimeout bounds the wait for one large message. It is long because
// decoding a large byte string is slow (quadratic in its size) with the
// codec's settings at the time of writing, and slower still under -race.
const largeTimeout = time.Minute

// recvLarge is recvFrom with largeTimeout.
func recvLarge(t *testing.T, ep chain.Endpoint, from string) chain.Message {
	t.Helper()
	in := Receive(t, ep, largeTimeout)
	require.Equal(t, from, in.From, "%s: sender address", ep.Addr())
	return in.Msg
}

// testLarge sends messages of several MiB both ways and checks their bytes.
func testLarge(t *testing.T, h *harness) {
	rng := rand.NewChaCha8([32]byte{1})
	payload := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b)
		return b
	}
	a, b, c := h.listen(), h.listen(), h.client()

	for _, size := range []int{1 << 20, 3 << 20} {
		data := payload(size)
		send(t, a, b.Addr(), &wire.ClientRequest{Op: wire.OpAppend, ID: uint64(size), Data: data})
		got, ok := recvLarge(t, b, a.Addr()).(*wire.ClientRequest)
		require.True(t, ok)
		require.Equal(t, uint64(size), got.ID)
		require.True(t, bytes.Equal(data, got.Data), "%d-byte payload changed in transit", size)
	}

	// Many large entries in one message, then small messages behind it.
	entries := make([]chain.Entry, 12)
	for i := range entries {
		entries[i] = chain.Entry{Offset: uint64(i + 1), Epoch: 1, Client: c.Addr(), Seq: uint64(i), Data: payload(256 << 10)}
	}
	send(t, c, b.Addr(), req(0))
	recvFrom(t, b, c.Addr())
	send(t, b, c.Addr(), &wire.PullResponse{Epoch: 1, From: 1, Commit: 12, Entries: entries})
	send(t, b, c.Addr(), req(1))
	got, ok := recvLarge(t, c, b.Addr()).(*wire.PullResponse)
	require.True(t, ok)
	require.Len(t, got.Entries, len(entries))
	for i := range entries {
		require.True(t, bytes.Equal(entries[i].Data, got.Entries[i].Data), "entry %d changed in transit", i)
		got.Entries[i].Data, entries[i].Data = nil, nil
	}
	require.Equal(t, entries, got.Entries)
	require.Equal(t, []uint64{1}, recvIDs(t, c, b.Addr(), 1))
}
