package inmem_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestPartitionBothWays(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	n.Partition([]string{"a"}, []string{"b", "c"})

	send(t, a, "b", 1)
	send(t, a, "c", 2)
	send(t, b, "a", 3)
	send(t, c, "a", 4)
	requireNone(t, a)
	requireNone(t, b)
	requireNone(t, c)
	require.Equal(t, uint64(4), n.Stats().Dropped)

	// Links within a side are unaffected.
	send(t, b, "c", 5)
	require.Equal(t, []uint64{5}, recvIDs(t, c, 1))

	n.Heal()
	send(t, a, "b", 6)
	send(t, c, "a", 7)
	require.Equal(t, []uint64{6}, recvIDs(t, b, 1))
	require.Equal(t, []uint64{7}, recvIDs(t, a, 1))
}

func TestPartitionOneWay(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	n.PartitionOneWay([]string{"a"}, []string{"b"})

	send(t, a, "b", 1)
	requireNone(t, b)
	send(t, b, "a", 2)
	require.Equal(t, []uint64{2}, recvIDs(t, a, 1))

	n.Heal()
	send(t, a, "b", 3)
	require.Equal(t, []uint64{3}, recvIDs(t, b, 1))
}

func TestIsolate(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	n.Isolate("a")

	send(t, a, "b", 1)
	send(t, b, "a", 2)
	send(t, c, "a", 3)
	requireNone(t, a)
	requireNone(t, b)
	send(t, b, "c", 4)
	require.Equal(t, []uint64{4}, recvIDs(t, c, 1))

	n.Heal()
	send(t, a, "b", 5)
	send(t, b, "a", 6)
	require.Equal(t, []uint64{5}, recvIDs(t, b, 1))
	require.Equal(t, []uint64{6}, recvIDs(t, a, 1))
}

func TestPartitionBeforeListen(t *testing.T) {
	n := newNet(t, inmem.Options{})
	n.Partition([]string{"a"}, []string{"b"})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	send(t, a, "b", 1)
	requireNone(t, b)
}

func TestReconnectEndsOneIsolation(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	n.Isolate("a")
	n.Isolate("c")
	n.Reconnect("a")
	send(t, a, "b", 1)
	require.Equal(t, []uint64{1}, recvIDs(t, b, 1))
	send(t, c, "b", 2)
	requireNone(t, b)
}

// TestHoldQueuesBothWaysUntilRelease: a held endpoint neither receives nor
// sends; on Release what waited for it arrives in arrival order, delayed
// copies included, and what it sent leaves.
func TestHoldQueuesBothWaysUntilRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := inmem.New(inmem.Options{Seed: 1})
		defer n.Close()
		a, b := listen(t, n, "a"), listen(t, n, "b")
		slow, err := n.AddRule(inmem.Rule{From: "a", To: "b", Faults: inmem.Faults{Delay: 1, MinDelay: time.Second, MaxDelay: time.Second}})
		require.NoError(t, err)
		send(t, a, "b", 1) // arrives a second later, during the hold
		n.RemoveRule(slow)
		n.Hold("b")
		send(t, a, "b", 2)
		send(t, b, "a", 10)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		requireEmpty(t, a)
		requireEmpty(t, b)
		n.Release("b")
		require.Equal(t, []uint64{2, 1}, recvIDs(t, b, 2))
		require.Equal(t, []uint64{10}, recvIDs(t, a, 1))
		st := n.Stats()
		require.Equal(t, st.Sent, st.Delivered)
	})
}

// TestHoldBeforeListenAndReleaseAll: a hold applies to the endpoint opened
// later at its address; ReleaseAll ends every hold.
func TestHoldBeforeListenAndReleaseAll(t *testing.T) {
	n := newNet(t, inmem.Options{})
	n.Hold("b")
	n.Hold("c")
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	send(t, a, "b", 1)
	send(t, a, "c", 2)
	requireNone(t, b)
	n.ReleaseAll()
	require.Equal(t, []uint64{1}, recvIDs(t, b, 1))
	require.Equal(t, []uint64{2}, recvIDs(t, c, 1))
}

// TestCrashDropsEverythingAndFreesTheAddress: a crashed endpoint's inbox
// closes, what was held for it or by it is lost, its sends fail, and a
// new endpoint can listen at its address at once.
func TestCrashDropsEverythingAndFreesTheAddress(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	n.Hold("b")
	send(t, a, "b", 1)
	send(t, b, "a", 2)
	n.Crash("b")
	_, ok := <-b.Receive()
	require.False(t, ok)
	require.ErrorIs(t, b.Send(context.Background(), "a", &wire.CommitNotice{}), chain.ErrClosed)
	b2 := listen(t, n, "b")
	require.NoError(t, b.Close(), "the old endpoint's Close changes nothing")
	n.Release("b")
	requireNone(t, a)
	send(t, a, "b", 3)
	require.Equal(t, []uint64{3}, recvIDs(t, b2, 1))
}

// requireEmpty requires that nothing waits in ep's inbox (in a bubble,
// after synctest.Wait).
func requireEmpty(t *testing.T, ep chain.Endpoint) {
	t.Helper()
	select {
	case in := <-ep.Receive():
		t.Fatalf("%s: unexpected message from %s: %#v", ep.Addr(), in.From, in.Msg)
	default:
	}
}
