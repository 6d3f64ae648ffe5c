package chain_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// TestClientThatNeverReadsIsCutOff: a client that asks the tail for
// hundreds of large reads (each up to the node's batch bytes, some 400
// MiB in all) and never reads a reply is disconnected by the tail once
// its waiting replies pass the transport's byte bound; the tail holds
// no more for it, and the chain goes on serving another client's appends
// and reads, before, during and after.
func TestClientThatNeverReadsIsCutOff(t *testing.T) {
	members, err := launch.FreeLocalMembers(3)
	require.NoError(t, err)
	cfg := chain.Config{Epoch: 1, Members: members}
	var tailTr *tcp.Transport
	for _, m := range members {
		tr := tcp.New(tcp.Options{})
		t.Cleanup(func() { _ = tr.Close() })
		tailTr = tr
		n, err := chain.NewNode(m.ID, chain.WithTransport(tr), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
		require.NoError(t, err)
		require.NoError(t, n.Start(t.Context()))
		t.Cleanup(func() { _ = n.Close() })
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	clientTr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = clientTr.Close() })
	client, err := chain.NewClient(chain.WithTransport(clientTr), chain.WithConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	value := bytes.Repeat([]byte("v"), 128<<10)
	for range 16 {
		_, err := client.Append(ctx, value)
		require.NoError(t, err)
	}

	// The hostile client: its endpoint's inbox holds one message and no
	// one takes it, so its connection stops reading, then the socket's
	// buffers fill, and the tail's replies wait.
	hostileTr := tcp.New(tcp.Options{InboxSize: 1})
	t.Cleanup(func() { _ = hostileTr.Close() })
	hostile, err := hostileTr.Listen("")
	require.NoError(t, err)
	tail := members[len(members)-1].Addr
	const reads = 400
	for i := range reads {
		req := &wire.ClientRequest{Op: wire.OpRead, ID: uint64(i + 1), From: 1, Max: 16}
		require.NoError(t, hostile.Send(ctx, tail, req), "read request %d", i)
		if i%50 == 0 {
			_, err := client.Append(ctx, []byte(fmt.Sprintf("during %d", i)))
			require.NoError(t, err)
		}
	}
	waitFor(t, func() bool { return tailTr.Stats().Dropped > 0 }, "the tail dropped no reply to the client that does not read")
	waitFor(t, func() bool { return hostileTr.Stats().Conns == 0 }, "the tail did not close the connection of the client that does not read")
	// What the tail wrote before it cut the client off is bounded by the
	// byte bound and the sockets' buffers, far below what was asked.
	st := tailTr.Stats()
	require.Less(t, st.BytesSent, uint64(reads*len(value)*16/4), "the tail wrote %d bytes", st.BytesSent)

	for i := range 10 {
		_, err := client.Append(ctx, []byte(fmt.Sprintf("after %d", i)))
		require.NoError(t, err)
	}
	ents, err := client.Read(ctx, 1, 2)
	require.NoError(t, err)
	require.Len(t, ents, 2)
	require.Equal(t, value, ents[0].Data)
}
