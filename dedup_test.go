package chain_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestRetriedCommandIsAppliedOnceAndGetsTheFirstResult(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3})
	ep := rawEndpoint(t, c, "")
	head := c.Addr(0)

	first := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Name: "incr"})
	require.Nil(t, first.Err)
	require.Equal(t, uint64(1), decodeCount(t, first.Result))

	// The same command again, as a client retrying after a lost reply.
	retry := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Name: "incr"})
	require.Nil(t, retry.Err)
	require.Equal(t, first.Result, retry.Result)
	require.Equal(t, first.Offset, retry.Offset)

	// A new command is applied.
	second := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 2, Acked: 1, Name: "incr"})
	require.Equal(t, uint64(2), decodeCount(t, second.Result))

	// Once the client acknowledged command 1, a late copy is not applied
	// again and says its result expired.
	third := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 3, Acked: 3, Name: "incr"})
	require.Equal(t, uint64(3), decodeCount(t, third.Result))
	require.NoError(t, c.WaitConverged(testCtx(t))) // the head has applied it too
	late := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Name: "incr"})
	require.ErrorIs(t, late.Err, chain.ErrResultExpired)

	require.NoError(t, c.WaitConverged(testCtx(t)))
	for i := range 3 {
		require.Equal(t, uint64(3), counters(i).value(), "node %d", i)
	}
	require.Zero(t, c.CheckInvariants())
}

func TestRetriedAppendReturnsTheFirstOffset(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 2})
	ep := rawEndpoint(t, c, "")
	first := roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpAppend, ID: 1, Acked: 1, Data: []byte("a")})
	require.Nil(t, first.Err)
	retry := roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpAppend, ID: 1, Acked: 1, Data: []byte("a")})
	require.Nil(t, retry.Err)
	require.Equal(t, first.Offset, retry.Offset)
}

// TestExactlyOnceUnderMessageLoss runs concurrent increments through a
// network that drops and duplicates messages: clients retry, and each
// acknowledged increment must have been applied exactly once.
func TestExactlyOnceUnderMessageLoss(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3,
		ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 50*time.Millisecond)},
		NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
	})
	require.NoError(t, c.Network().SetFaults(inmem.Faults{Drop: 0.1, Duplicate: 0.1, Reorder: 0.2}))
	stop := c.WatchInvariants(2 * time.Millisecond)
	ctx := testCtx(t)
	const clients, perClient = 4, 50
	results := make(chan uint64, clients*perClient)
	var wg sync.WaitGroup
	for range clients {
		cl := c.Client()
		wg.Go(func() {
			for range perClient {
				out, err := cl.Do(ctx, "incr", nil)
				if err != nil {
					t.Errorf("incr: %v", err)
					return
				}
				results <- decodeCount(t, out)
			}
		})
	}
	wg.Wait()
	close(results)
	c.Network().ClearFaults()
	seen := make(map[uint64]bool)
	for r := range results {
		require.False(t, seen[r], "two increments returned %d", r)
		seen[r] = true
	}
	require.Len(t, seen, clients*perClient)
	require.NoError(t, c.WaitConverged(ctx))
	require.Zero(t, stop())
	for i := range 3 {
		require.Equal(t, uint64(clients*perClient), counters(i).value(), "node %d (seed %d)", i, c.Seed())
	}
	requireEachCommandOnce(t, c)
}

// TestReusedClientAddressIsANewClient sends the same sequence number from
// one address under two sessions, as a restarted client that got its old
// address back would: the second is a new command, not a retry.
func TestReusedClientAddressIsANewClient(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3})
	ep := rawEndpoint(t, c, "")
	first := roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 7, Name: "incr"})
	require.Equal(t, uint64(1), decodeCount(t, first.Result))
	again := roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 8, Name: "incr"})
	require.Nil(t, again.Err)
	require.Equal(t, uint64(2), decodeCount(t, again.Result))
	require.NoError(t, c.WaitConverged(testCtx(t)))
	require.Equal(t, uint64(2), counters(2).value())
}

// TestStatsCountDeduplicationSessions checks that Stats.Sessions and
// NodeStatus.Sessions report the clients whose de-duplication records each
// node holds, bounded by WithMaxSessions (they were always 0 once).
func TestStatsCountDeduplicationSessions(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 3,
		NodeOptions: []chain.NodeOption{chain.WithMaxSessions(2)},
	})
	ctx := testCtx(t)
	one, two := c.Client(), c.Client()
	for range 2 {
		_, err := one.Do(ctx, "incr", nil)
		require.NoError(t, err)
	}
	_, err := two.Do(ctx, "incr", nil)
	require.NoError(t, err)
	require.NoError(t, c.WaitConverged(ctx))
	for i := range 3 {
		require.Equal(t, 2, c.Node(i).Stats().Sessions, "node %d: two clients' sessions", i)
	}

	// A third client evicts the idlest session: the count stays at the bound.
	_, err = c.Client().Do(ctx, "incr", nil)
	require.NoError(t, err)
	require.NoError(t, c.WaitConverged(ctx))
	for i := range 3 {
		require.Equal(t, 2, c.Node(i).Stats().Sessions, "node %d: bounded by WithMaxSessions", i)
		st, err := one.Status(ctx, c.Addr(i))
		require.NoError(t, err)
		require.Equal(t, 2, st.Sessions, "node %d: NodeStatus", i)
	}
}
