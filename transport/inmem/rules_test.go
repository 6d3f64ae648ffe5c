package inmem_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

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
