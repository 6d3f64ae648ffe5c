package inmem_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestDeliveryAndFrom(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.Equal(t, "a", a.Addr())

	send(t, a, "b", 7)
	in := recv(t, b)
	require.Equal(t, "a", in.From)
	require.Equal(t, &wire.ClientRequest{Op: wire.OpAppend, ID: 7}, in.Msg)

	// Replies travel back to the From address, including generated ones.
	c := listen(t, n, "")
	send(t, c, "a", 8)
	in = recv(t, a)
	require.Equal(t, c.Addr(), in.From)
	send(t, a, in.From, 9)
	require.Equal(t, []uint64{9}, recvIDs(t, c, 1))

	// Messages from one sender arrive in order without faults.
	for i := range uint64(100) {
		send(t, a, "b", i)
	}
	want := make([]uint64, 100)
	for i := range want {
		want[i] = uint64(i)
	}
	require.Equal(t, want, recvIDs(t, b, 100))

	st := n.Stats()
	require.Equal(t, uint64(103), st.Sent)
	require.Equal(t, uint64(103), st.Delivered)
	require.Zero(t, st.Dropped+st.Overflow+st.Duplicated+st.Delayed)
}

func TestEveryMessageKind(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	msgs := []chain.Message{
		&wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Epoch: 2, Name: "upper", Data: []byte("x"), From: 3, Max: 4},
		&wire.ClientResponse{ID: 1, Err: &chain.RemoteError{Code: wire.CodeNotHead, Redirect: "h"}, Offset: 5, Result: []byte("X"),
			Entries: []chain.Entry{{Offset: 1, Epoch: 1, Client: "c", Seq: 1, Command: "upper", Data: []byte("x")}}},
		&wire.PullRequest{Epoch: 1, Next: 2, Commit: 3, MaxBytes: 4},
		&wire.PullResponse{Epoch: 1, From: 2, Commit: 3, Entries: []chain.Entry{{Offset: 2, Epoch: 1, Data: []byte("y")}}},
		&wire.CommitNotice{Epoch: 1, Commit: 9},
	}
	for _, m := range msgs {
		require.NoError(t, a.Send(context.Background(), "b", m))
		in := recv(t, b)
		require.Equal(t, m, in.Msg)
		require.NotSame(t, m, in.Msg)
	}
}

func TestCopySemantics(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, n.SetFaults(inmem.Faults{Duplicate: 1}))

	data := []byte("hello")
	msg := &wire.ClientRequest{Op: wire.OpAppend, ID: 1, Data: data}
	require.NoError(t, a.Send(context.Background(), "b", msg))
	copy(data, "HELLO")
	msg.ID = 2

	first, second := recv(t, b), recv(t, b)
	r1 := first.Msg.(*wire.ClientRequest)
	r2 := second.Msg.(*wire.ClientRequest)
	require.Equal(t, []byte("hello"), r1.Data)
	require.Equal(t, uint64(1), r1.ID)
	require.Equal(t, []byte("hello"), r2.Data)

	// Duplicates share no memory with each other either.
	require.NotSame(t, r1, r2)
	r1.Data[0] = 'j'
	require.Equal(t, []byte("hello"), r2.Data)
}

func TestSendErrors(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a := listen(t, n, "a")
	listen(t, n, "b")

	err := a.Send(context.Background(), "b", nil)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = a.Send(ctx, "b", &wire.CommitNotice{})
	require.ErrorIs(t, err, context.Canceled)

	require.Zero(t, n.Stats().Sent)
}

func TestSendToUnknownAddress(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a := listen(t, n, "a")
	send(t, a, "nowhere", 1)
	st := n.Stats()
	require.Equal(t, uint64(1), st.Sent)
	require.Equal(t, uint64(1), st.Dropped)
}

func TestInboxOverflow(t *testing.T) {
	n := newNet(t, inmem.Options{InboxSize: 4})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	for i := range uint64(10) {
		send(t, a, "b", i)
	}
	st := n.Stats()
	require.Equal(t, uint64(4), st.Delivered)
	require.Equal(t, uint64(6), st.Overflow)
	require.Equal(t, []uint64{0, 1, 2, 3}, recvIDs(t, b, 4))
	requireNone(t, b)

	// Room again once drained.
	send(t, a, "b", 10)
	require.Equal(t, []uint64{10}, recvIDs(t, b, 1))
}

func TestClosedEndpoint(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")

	send(t, a, "b", 1)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")

	// Messages already in the inbox stay readable, then the channel is closed.
	require.Equal(t, []uint64{1}, recvIDs(t, b, 1))
	_, ok := <-b.Receive()
	require.False(t, ok)

	// Sending to a closed endpoint is a silent, counted drop.
	before := n.Stats().Dropped
	send(t, a, "b", 2)
	require.Equal(t, before+1, n.Stats().Dropped)

	// Sending from a closed endpoint fails.
	err := b.Send(context.Background(), "a", &wire.CommitNotice{})
	require.ErrorIs(t, err, chain.ErrClosed)

	// The address is free again, and the new endpoint gets only new messages.
	b2 := listen(t, n, "b")
	send(t, a, "b", 3)
	require.Equal(t, []uint64{3}, recvIDs(t, b2, 1))
}

func TestListenDuplicate(t *testing.T) {
	n := newNet(t, inmem.Options{})
	listen(t, n, "a")
	_, err := n.Listen("a")
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

func TestGeneratedAddressesUnique(t *testing.T) {
	n := newNet(t, inmem.Options{})
	listen(t, n, "client-2") // taken explicitly: must be skipped
	seen := map[string]bool{"client-2": true}
	for range 50 {
		ep := listen(t, n, "")
		require.False(t, seen[ep.Addr()], "duplicate address %q", ep.Addr())
		seen[ep.Addr()] = true
	}
	require.True(t, seen["client-1"])
	require.True(t, seen["client-3"])

	// The counter belongs to the Network, not the process.
	other := newNet(t, inmem.Options{})
	require.Equal(t, "client-1", listen(t, other, "").Addr())
}

func TestNetworkClose(t *testing.T) {
	n := inmem.New(inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, n.Close())
	require.NoError(t, n.Close(), "Close is idempotent")

	for _, ep := range []chain.Endpoint{a, b} {
		_, ok := <-ep.Receive()
		require.False(t, ok)
		require.NoError(t, ep.Close())
	}
	require.ErrorIs(t, a.Send(context.Background(), "b", &wire.CommitNotice{}), chain.ErrClosed)
	_, err := n.Listen("c")
	require.ErrorIs(t, err, chain.ErrClosed)
}

func TestConcurrentSend(t *testing.T) {
	const senders, perSender = 16, 300
	n := newNet(t, inmem.Options{Seed: 42})
	dst := listen(t, n, "dst")

	received := make(chan int)
	go func() {
		count := 0
		for range dst.Receive() {
			count++
		}
		received <- count
	}()

	eps := make([]chain.Endpoint, senders)
	for i := range eps {
		eps[i] = listen(t, n, fmt.Sprintf("s%d", i))
	}
	done := make(chan struct{})
	go func() { // fault injection concurrent with traffic
		defer close(done)
		for i := 0; i < 200; i++ {
			switch i % 4 {
			case 0:
				_ = n.SetFaults(inmem.Faults{Drop: 0.1, Duplicate: 0.1, Delay: 0.1, Reorder: 0.1})
			case 1:
				n.Partition([]string{"s0", "s1"}, []string{"dst"})
			case 2:
				n.Isolate("s2")
			case 3:
				n.Heal()
				n.ClearFaults()
			}
			_ = n.Stats()
		}
	}()

	var g errgroup.Group
	for _, ep := range eps {
		g.Go(func() error {
			for i := range perSender {
				if err := ep.Send(context.Background(), "dst", &wire.ClientRequest{ID: uint64(i), Data: []byte("x")}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	<-done

	// Let delayed deliveries land, then close and check the accounting.
	require.Eventually(t, func() bool {
		st := n.Stats()
		return st.Sent+st.Duplicated == st.Delivered+st.Dropped+st.Overflow
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, dst.Close())
	got := <-received
	st := n.Stats()
	require.Equal(t, uint64(senders*perSender), st.Sent)
	require.Equal(t, st.Delivered, uint64(got))
}

func TestCollector(t *testing.T) {
	n := newNet(t, inmem.Options{})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(n.Collector()))
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, a.Send(t.Context(), b.Addr(), &wire.ClientRequest{ID: 1, Op: wire.OpLatest}))
	require.NoError(t, a.Send(t.Context(), "nobody", &wire.ClientRequest{ID: 2, Op: wire.OpLatest}))
	<-b.Receive()

	s := testutil.GatherMetrics(t, reg)
	get := func(name string) float64 { return s.Get(name, nil) }
	require.Equal(t, 2.0, get("chain_inmem_endpoints"))
	require.Equal(t, 2.0, get("chain_inmem_messages_sent_total"))
	require.Equal(t, 1.0, get("chain_inmem_messages_delivered_total"))
	require.Equal(t, 1.0, get("chain_inmem_messages_dropped_total"))
	require.Positive(t, get("chain_inmem_bytes_sent_total"))
}
