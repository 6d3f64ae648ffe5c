package inmem_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestSetFaultsValidation(t *testing.T) {
	n := newNet(t, inmem.Options{})
	for _, f := range []inmem.Faults{
		{Drop: -0.1},
		{Duplicate: 1.1},
		{Delay: math.NaN()},
		{Reorder: 2},
		{Delay: 0.5, MaxDelay: -time.Millisecond},
		{Reorder: 0.5, ReorderWindow: -time.Millisecond},
	} {
		require.ErrorIs(t, n.SetFaults(f), chain.ErrInvalidArgument, "%+v", f)
	}
	require.NoError(t, n.SetFaults(inmem.Faults{Drop: 0, Duplicate: 1, Delay: 0.5, Reorder: 1}))

	// A rejected SetFaults leaves the previous faults in place.
	require.NoError(t, n.SetFaults(inmem.Faults{Drop: 1}))
	require.Error(t, n.SetFaults(inmem.Faults{Drop: 2}))
	a, b := listen(t, n, "a"), listen(t, n, "b")
	send(t, a, "b", 1)
	requireNone(t, b)
}

func TestDropAll(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, n.SetFaults(inmem.Faults{Drop: 1, Duplicate: 1, Delay: 1}))
	for i := range uint64(100) {
		send(t, a, "b", i)
	}
	requireNone(t, b)
	st := n.Stats()
	require.Equal(t, uint64(100), st.Sent)
	require.Equal(t, uint64(100), st.Dropped)
	require.Zero(t, st.Delivered+st.Duplicated+st.Delayed)

	n.ClearFaults()
	send(t, a, "b", 100)
	require.Equal(t, []uint64{100}, recvIDs(t, b, 1))
}

func TestDuplicateAll(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, n.SetFaults(inmem.Faults{Duplicate: 1}))
	for i := range uint64(50) {
		send(t, a, "b", i)
	}
	ids := recvIDs(t, b, 100)
	for i := range uint64(50) {
		require.Equal(t, []uint64{i, i}, ids[2*i:2*i+2])
	}
	requireNone(t, b)
	st := n.Stats()
	require.Equal(t, uint64(50), st.Duplicated)
	require.Equal(t, uint64(100), st.Delivered)
}

// sendAndCollect sends count messages from a to b and returns the IDs in
// arrival order, requiring that every one arrives exactly once.
func sendAndCollect(t *testing.T, n *inmem.Network, count int) []uint64 {
	t.Helper()
	a, b := listen(t, n, "a"), listen(t, n, "b")
	for i := range uint64(count) {
		send(t, a, "b", i)
	}
	ids := recvIDs(t, b, count)
	requireNone(t, b)
	seen := make(map[uint64]bool, count)
	for _, id := range ids {
		require.False(t, seen[id], "id %d twice", id)
		seen[id] = true
	}
	require.Len(t, seen, count)
	return ids
}

func inversions(ids []uint64) int {
	count := 0
	for i := 1; i < len(ids); i++ {
		if ids[i] < ids[i-1] {
			count++
		}
	}
	return count
}

func TestDelayDeliversEverything(t *testing.T) {
	n := newNet(t, inmem.Options{Seed: 1})
	require.NoError(t, n.SetFaults(inmem.Faults{Delay: 1, MaxDelay: 2 * time.Millisecond}))
	ids := sendAndCollect(t, n, 200)
	require.Positive(t, inversions(ids), "expected delays to reorder some messages: %v", ids)
	st := n.Stats()
	require.Equal(t, uint64(200), st.Delayed)
	require.Equal(t, uint64(200), st.Delivered)
}

func TestReorderDeliversEverything(t *testing.T) {
	n := newNet(t, inmem.Options{Seed: 7})
	require.NoError(t, n.SetFaults(inmem.Faults{Reorder: 0.5}))
	ids := sendAndCollect(t, n, 200)
	require.Positive(t, inversions(ids), "expected some reordering: %v", ids)
	st := n.Stats()
	require.Positive(t, st.Delayed)
	require.Less(t, st.Delayed, uint64(200))
	require.Equal(t, uint64(200), st.Delivered)
}

func TestSeedReproducible(t *testing.T) {
	run := func(seed int64) []uint64 {
		n := newNet(t, inmem.Options{Seed: seed})
		require.NoError(t, n.SetFaults(inmem.Faults{Drop: 0.5}))
		a, b := listen(t, n, "a"), listen(t, n, "b")
		for i := range uint64(200) {
			send(t, a, "b", i)
		}
		delivered := int(n.Stats().Delivered)
		return recvIDs(t, b, delivered)
	}
	first := run(3)
	require.Equal(t, first, run(3))
	require.NotEqual(t, first, run(4))
	require.Greater(t, len(first), 50)
	require.Less(t, len(first), 150)
}

func TestCloseDiscardsDelayed(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, n.SetFaults(inmem.Faults{Delay: 1, MaxDelay: time.Hour}))
	for i := range uint64(10) {
		send(t, a, "b", i)
	}
	require.Equal(t, uint64(10), n.Stats().Delayed)
	require.NoError(t, b.Close())
	_, ok := <-b.Receive()
	require.False(t, ok)
	st := n.Stats()
	require.Equal(t, uint64(10), st.Dropped)
	require.Zero(t, st.Delivered)

	// Network.Close discards the pending deliveries of every endpoint;
	// goleak in TestMain checks that no timer goroutine is left behind.
	c := listen(t, n, "c")
	for i := range uint64(10) {
		send(t, a, "c", i)
	}
	require.NoError(t, n.Close())
	_, ok = <-c.Receive()
	require.False(t, ok)
	require.Equal(t, uint64(20), n.Stats().Dropped)
}

func TestCloseRacesDelayedDelivery(t *testing.T) {
	for round := range 20 {
		n := inmem.New(inmem.Options{Seed: int64(round)})
		require.NoError(t, n.SetFaults(inmem.Faults{Delay: 0.5, Reorder: 0.5, MaxDelay: 100 * time.Microsecond, ReorderWindow: 50 * time.Microsecond}))
		a, b := listen(t, n, "a"), listen(t, n, "b")
		stop := make(chan struct{})
		go func() {
			defer close(stop)
			for i := range uint64(500) {
				if a.Send(t.Context(), "b", &wire.ClientRequest{ID: i}) != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(round) * 20 * time.Microsecond)
		if round%2 == 0 {
			require.NoError(t, b.Close())
		}
		require.NoError(t, n.Close())
		<-stop
		for range b.Receive() {
		}
		st := n.Stats()
		require.Equal(t, st.Sent+st.Duplicated, st.Delivered+st.Dropped+st.Overflow)
	}
}

// TestRuleDecidesTheFaultsOfWhatItMatches: a rule on one link and kind
// drops those messages only; the latest matching rule wins; removing a rule
// restores the network's faults.
func TestRuleDecidesTheFaultsOfWhatItMatches(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	cut, err := n.AddRule(inmem.Rule{From: "a", To: "b", Kinds: []wire.MessageKind{wire.KindClientRequest}, Faults: inmem.Faults{Drop: 1}})
	require.NoError(t, err)
	send(t, a, "b", 1)
	requireNone(t, b)
	require.NoError(t, a.Send(context.Background(), "b", &wire.CommitNotice{Commit: 2}))
	require.IsType(t, &wire.CommitNotice{}, recv(t, b).Msg, "another kind passes")
	send(t, a, "c", 3)
	require.Equal(t, []uint64{3}, recvIDs(t, c, 1), "another link passes")
	send(t, c, "b", 4)
	require.Equal(t, []uint64{4}, recvIDs(t, b, 1), "another sender passes")

	pass, err := n.AddRule(inmem.Rule{To: "b"})
	require.NoError(t, err)
	send(t, a, "b", 5)
	require.Equal(t, []uint64{5}, recvIDs(t, b, 1), "the later rule decides")
	n.RemoveRule(pass)
	send(t, a, "b", 6)
	requireNone(t, b)
	n.RemoveRule(cut)
	send(t, a, "b", 7)
	require.Equal(t, []uint64{7}, recvIDs(t, b, 1))

	_, err = n.AddRule(inmem.Rule{Faults: inmem.Faults{Drop: 2}})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	_, err = n.AddRule(inmem.Rule{Faults: inmem.Faults{Delay: 1, MinDelay: time.Second, MaxDelay: time.Millisecond}})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

// TestRuleMatchesTheMessageInAnEnvelope: an envelope is matched by the
// kind of what it carries.
func TestRuleMatchesTheMessageInAnEnvelope(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	_, err := n.AddRule(inmem.Rule{Kinds: []wire.MessageKind{wire.KindCommitNotice}, Faults: inmem.Faults{Drop: 1}})
	require.NoError(t, err)
	require.NoError(t, a.Send(context.Background(), "b", &wire.Envelope{To: "x", Msg: &wire.CommitNotice{}}))
	requireNone(t, b)
	require.NoError(t, a.Send(context.Background(), "b", &wire.Envelope{To: "x", Msg: &wire.PullRequest{}}))
	require.IsType(t, &wire.Envelope{}, recv(t, b).Msg)
}

// TestMinDelayFixesTheDelay: with MinDelay equal to MaxDelay every copy
// arrives exactly that late.
func TestMinDelayFixesTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := inmem.New(inmem.Options{Seed: 3})
		defer n.Close()
		a, b := listen(t, n, "a"), listen(t, n, "b")
		const d = 900 * time.Millisecond
		_, err := n.AddRule(inmem.Rule{From: "a", Faults: inmem.Faults{Delay: 1, MinDelay: d, MaxDelay: d}})
		require.NoError(t, err)
		start := time.Now()
		for i := range uint64(5) {
			send(t, a, "b", i)
		}
		require.ElementsMatch(t, []uint64{0, 1, 2, 3, 4}, recvIDs(t, b, 5), "copies delayed alike may arrive in any order")
		require.Equal(t, d, time.Since(start))
	})
}

// TestTapSeesEverySend: the tap sees each accepted message with its
// sender and destination, dropped ones included.
func TestTapSeesEverySend(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a := listen(t, n, "a")
	listen(t, n, "b")
	n.Isolate("a")
	var seen []string
	n.SetTap(func(from, to string, msg chain.Message) {
		seen = append(seen, from+">"+to+fmt.Sprint(msg.Kind()))
	})
	send(t, a, "b", 1)
	send(t, a, "nowhere", 2)
	n.SetTap(nil)
	send(t, a, "b", 3)
	require.Equal(t, []string{"a>b1", "a>nowhere1"}, seen)
}

// TestDialedOnlyClients: with SetDialedOnly a client receives only from
// the addresses it has sent to; named endpoints are unaffected.
func TestDialedOnlyClients(t *testing.T) {
	n := newNet(t, inmem.Options{})
	head, tail := listen(t, n, "head"), listen(t, n, "tail")
	cl := listen(t, n, "")
	n.SetDialedOnly(true)
	send(t, cl, "head", 1)
	recvIDs(t, head, 1)
	send(t, head, cl.Addr(), 2)
	require.Equal(t, []uint64{2}, recvIDs(t, cl, 1))
	send(t, tail, cl.Addr(), 3)
	requireNone(t, cl)
	send(t, tail, "head", 4)
	require.Equal(t, []uint64{4}, recvIDs(t, head, 1), "named endpoints receive from anyone")
	n.SetDialedOnly(false)
	send(t, tail, cl.Addr(), 5)
	require.Equal(t, []uint64{5}, recvIDs(t, cl, 1))
}

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
