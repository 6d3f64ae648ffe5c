package transporttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// testSendAfterClose: Send on a closed endpoint fails with ErrClosed.
func testSendAfterClose(t *testing.T, h *harness) {
	peer := h.listen()
	for _, ep := range []chain.Endpoint{h.listen(), h.client()} {
		send(t, ep, peer.Addr(), req(1))
		recvFrom(t, peer, ep.Addr())
		require.NoError(t, ep.Close())
		err := ep.Send(context.Background(), peer.Addr(), req(2))
		require.ErrorIs(t, err, chain.ErrClosed, "Send after Close")
	}
}

// testReceiveClosed: the Receive channel is closed after Close, once the
// messages already in it are read; Close may be called again.
func testReceiveClosed(t *testing.T, h *harness) {
	sender := h.listen()
	for _, ep := range []chain.Endpoint{h.listen(), h.client()} {
		// Leave a message on its way to the inbox. (A client endpoint can
		// be sent to only once it has sent.)
		send(t, ep, sender.Addr(), req(0))
		recvFrom(t, sender, ep.Addr())
		send(t, sender, ep.Addr(), req(1))
		recvFrom(t, ep, sender.Addr())
		send(t, sender, ep.Addr(), req(2))
		require.NoError(t, ep.Close())
		deadline := time.NewTimer(waitTimeout)
		drained := 0
	drain:
		for {
			select {
			case _, ok := <-ep.Receive():
				if !ok {
					break drain
				}
				drained++
				require.LessOrEqual(t, drained, 1, "more messages after Close than were left")
			case <-deadline.C:
				t.Fatalf("%s: Receive channel not closed %v after Close", ep.Addr(), waitTimeout)
			}
		}
		deadline.Stop()
		require.NotPanics(t, func() { _ = ep.Close() }, "second Close")
	}
}

// testListenInUse: Listen fails on an open endpoint's address.
func testListenInUse(t *testing.T, h *harness) {
	ep := h.listen()
	dup, err := h.tr.Listen(ep.Addr())
	if err == nil {
		_ = dup.Close()
	}
	require.Error(t, err, "Listen on %s, which is in use", ep.Addr())

	// The first endpoint still works.
	other := h.listen()
	send(t, other, ep.Addr(), req(1))
	require.Equal(t, []uint64{1}, recvIDs(t, ep, other.Addr(), 1))
}

// testUnreachable: Send to an address where nobody listens returns nil at
// once, without waiting for ctx, and the sender still works afterwards.
func testUnreachable(t *testing.T, h *harness) {
	gone := h.listen()
	addr := gone.Addr()
	require.NoError(t, gone.Close())
	live := h.listen()

	const budget = 5 * time.Second
	for _, ep := range []chain.Endpoint{h.listen(), h.client()} {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		start := time.Now()
		for i := range uint64(200) {
			require.NoError(t, ep.Send(ctx, addr, req(i)), "Send to unreachable %s", addr)
		}
		cancel()
		require.Less(t, time.Since(start), budget, "Send to an unreachable address waited for ctx")

		send(t, ep, live.Addr(), req(1000))
		require.Equal(t, []uint64{1000}, recvIDs(t, live, ep.Addr(), 1))
	}
}

// testReopen: after an endpoint closes, its address can be listened on
// again, and senders (listening and client endpoints) reach the new
// endpoint within a few retries; replies reach them too.
func testReopen(t *testing.T, h *harness) {
	srv := h.listen()
	addr := srv.Addr()
	senders := []chain.Endpoint{h.listen(), h.client()}
	for _, s := range senders {
		send(t, s, addr, req(0))
		recvFrom(t, srv, s.Addr())
	}
	require.NoError(t, srv.Close())

	srv2, err := h.tr.Listen(addr)
	require.NoError(t, err, "Listen on %s after its endpoint closed", addr)
	t.Cleanup(func() { _ = srv2.Close() })
	require.Equal(t, addr, srv2.Addr())

	for _, s := range senders {
		reached := false
		for i := uint64(1); i <= 100 && !reached; i++ {
			send(t, s, addr, req(i))
			timeout := time.After(100 * time.Millisecond)
			for waiting := true; waiting && !reached; {
				select {
				case in := <-srv2.Receive():
					// Late retries of an earlier sender may still come.
					reached = in.From == s.Addr()
				case <-timeout:
					waiting = false
				}
			}
		}
		require.True(t, reached, "%s never reached the reopened %s", s.Addr(), addr)
		// Retries may still be in flight: drain them, then check a batch.
		for drained := false; !drained; {
			select {
			case <-srv2.Receive():
			case <-time.After(200 * time.Millisecond):
				drained = true
			}
		}
		for i := range uint64(10) {
			send(t, s, addr, req(1000+i))
		}
		require.Equal(t, seq(1000, 10), recvIDs(t, srv2, s.Addr(), 10))
		send(t, srv2, s.Addr(), req(2000))
		require.Equal(t, []uint64{2000}, recvIDs(t, s, addr, 1))
	}
}
