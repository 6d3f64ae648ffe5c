package transporttest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// everyKind returns one message of each kind, every field set, so that a
// field lost on the way shows.
func everyKind() []chain.Message {
	return []chain.Message{
		&wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Epoch: 2, Name: "upper", Data: []byte("x"), From: 3, Max: 4},
		&wire.ClientResponse{ID: 1, Err: &chain.RemoteError{Code: wire.CodeNotHead, Message: "no", Redirect: "h", Epoch: 3}, Offset: 5, Result: []byte("X"),
			Entries: []chain.Entry{{Offset: 1, Epoch: 1, Client: "c", Seq: 1, Acked: 1, Command: "upper", Data: []byte("x")}}},
		&wire.PullRequest{Epoch: 1, Run: 7, Next: 2, Commit: 3, MaxBytes: 4},
		&wire.PullResponse{Epoch: 1, From: 2, Commit: 3, Entries: []chain.Entry{{Offset: 2, Epoch: 1, Data: []byte("y")}, {Offset: 3, Epoch: 1, Client: "c", Seq: 9}},
			Err: &chain.RemoteError{Code: wire.CodeOutOfRange, Message: "truncated"}},
		&wire.CommitNotice{Epoch: 1, Commit: 9},
	}
}

// testEveryKind sends every kind of message between listening endpoints,
// from a client endpoint to a listening one, and back to the client.
func testEveryKind(t *testing.T, h *harness) {
	a, b, c := h.listen(), h.listen(), h.client()
	require.NotEqual(t, a.Addr(), b.Addr())
	for _, m := range everyKind() {
		send(t, a, b.Addr(), m)
		got := recvFrom(t, b, a.Addr())
		require.Equal(t, m, got, "%T from a listening endpoint", m)
		require.NotSame(t, m, got)

		send(t, c, b.Addr(), m)
		require.Equal(t, m, recvFrom(t, b, c.Addr()), "%T from a client endpoint", m)

		send(t, b, c.Addr(), m)
		require.Equal(t, m, recvFrom(t, c, b.Addr()), "%T to a client endpoint", m)
	}
}

// testClientEndpoint checks client endpoints: distinct addresses, and a
// reply to Inbound.From reaches them; so does a reply to a listening
// endpoint.
func testClientEndpoint(t *testing.T, h *harness) {
	seen := make(map[string]bool)
	for range 5 {
		c := h.client()
		require.False(t, seen[c.Addr()], "client address %q generated twice", c.Addr())
		seen[c.Addr()] = true
	}

	srv, c, peer := h.listen(), h.client(), h.listen()
	for _, sender := range []chain.Endpoint{c, peer} {
		send(t, sender, srv.Addr(), req(1))
		in := recv(t, srv)
		require.Equal(t, sender.Addr(), in.From)
		send(t, srv, in.From, &wire.ClientResponse{ID: 1, Result: []byte("pong")})
		got := recvFrom(t, sender, srv.Addr())
		require.Equal(t, &wire.ClientResponse{ID: 1, Result: []byte("pong")}, got)
	}
}

// testReplyRouting has several clients talk to one server at once and
// checks that each gets exactly its own replies, in order.
func testReplyRouting(t *testing.T, h *harness) {
	const clients, replies = 4, 50
	srv := h.listen()
	cs := make([]chain.Endpoint, clients)
	for i := range cs {
		cs[i] = h.client()
		send(t, cs[i], srv.Addr(), req(uint64(i)))
	}
	from := make(map[uint64]string, clients)
	for range clients {
		in := recv(t, srv)
		from[requestID(t, in.Msg)] = in.From
	}
	for i, c := range cs {
		require.Equal(t, c.Addr(), from[uint64(i)], "client %d", i)
	}
	// Interleave the replies across the clients.
	for r := range replies {
		for i := range cs {
			send(t, srv, from[uint64(i)], &wire.ClientResponse{ID: uint64(r), Result: []byte(from[uint64(i)])})
		}
	}
	for _, c := range cs {
		for r := range replies {
			got, ok := recvFrom(t, c, srv.Addr()).(*wire.ClientResponse)
			require.True(t, ok)
			require.Equal(t, uint64(r), got.ID, "%s: replies out of order", c.Addr())
			require.Equal(t, c.Addr(), string(got.Result), "%s got another client's reply", c.Addr())
		}
	}
}

// testOrder sends many messages from one goroutine: they arrive in order,
// between listening endpoints and back to a client.
func testOrder(t *testing.T, h *harness) {
	const n = 1000
	a, b, c := h.listen(), h.listen(), h.client()
	for i := range uint64(n) {
		send(t, a, b.Addr(), req(i))
	}
	require.Equal(t, seq(0, n), recvIDs(t, b, a.Addr(), n))

	send(t, c, b.Addr(), req(0))
	require.Equal(t, []uint64{0}, recvIDs(t, b, c.Addr(), 1))
	for i := range uint64(n) {
		send(t, b, c.Addr(), req(i))
	}
	require.Equal(t, seq(0, n), recvIDs(t, c, b.Addr(), n))
}
