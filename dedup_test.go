package chain_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestRetriedCommandIsAppliedOnceAndGetsTheFirstResult(t *testing.T) {
	synctest.Test(t, testRetriedCommandIsAppliedOnceAndGetsTheFirstResult)
}

func testRetriedCommandIsAppliedOnceAndGetsTheFirstResult(t *testing.T) {
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

	requireCountedEverywhere(t, c, counters, 3)
	require.Zero(t, c.CheckInvariants())
}

func TestRetriedAppendReturnsTheFirstOffset(t *testing.T) {
	synctest.Test(t, testRetriedAppendReturnsTheFirstOffset)
}

func testRetriedAppendReturnsTheFirstOffset(t *testing.T) {
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
	synctest.Test(t, testReusedClientAddressIsANewClient)
}

func testReusedClientAddressIsANewClient(t *testing.T) {
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
// NodeStatus.Sessions report the sessions each node holds, bounded by
// WithMaxSessions: with the table full of sessions in use, a third client's
// write is refused, not let in by forgetting one of them.
func TestStatsCountDeduplicationSessions(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3,
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

	_, err = c.Client().Do(ctx, "incr", nil)
	require.ErrorIs(t, err, chain.ErrTooManySessions)
	require.NoError(t, c.WaitConverged(ctx))
	for i := range 3 {
		require.Equal(t, 2, c.Node(i).Stats().Sessions, "node %d: bounded by WithMaxSessions", i)
		st, err := one.Status(ctx, c.Addr(i))
		require.NoError(t, err)
		require.Equal(t, 2, st.Sessions, "node %d: NodeStatus", i)
		require.Equal(t, uint64(3), counters(i).value(), "node %d: the refused write was not applied", i)
	}
	_, err = one.Do(ctx, "incr", nil)
	require.NoError(t, err, "the sessions in use still work")
}

// TestSessionBurstDoesNotEvictALiveClient is defect 5 of the safety issue:
// a client's command is applied and its reply lost; a burst of one-write
// sessions from other senders fills the table many times over; the
// client's retry must get the first result, not be applied again.
func TestSessionBurstDoesNotEvictALiveClient(t *testing.T) {
	synctest.Test(t, testSessionBurstDoesNotEvictALiveClient)
}

func testSessionBurstDoesNotEvictALiveClient(t *testing.T) {
	const maxSessions = 4
	c, counters := counterCluster(t, chaintest.Options{Nodes: 2,
		NodeOptions: []chain.NodeOption{chain.WithMaxSessions(maxSessions)}})
	ep := rawEndpoint(t, c, "")
	head := c.Addr(0)
	first := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 1, Name: "incr"})
	require.Nil(t, first.Err)

	burst := rawEndpoint(t, c, "")
	refused := 0
	for k := range uint64(5 * maxSessions) {
		resp := roundTrip(t, burst, head, &wire.ClientRequest{Op: wire.OpAppend, ID: 1, Acked: 1, Session: 100 + k, Data: []byte("x")})
		if resp.Err != nil {
			require.ErrorIs(t, resp.Err, chain.ErrTooManySessions)
			refused++
		}
	}
	require.Equal(t, 4*maxSessions+1, refused, "all but the room left are refused")

	retry := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 1, Name: "incr"})
	require.Nil(t, retry.Err)
	require.Equal(t, first.Result, retry.Result, "the retry gets the first result")
	requireCountedEverywhere(t, c, counters, 1)
	require.Zero(t, c.CheckInvariants())
}

// TestForgottenSessionGetsADistinctError: a session idle past the expiry
// makes room for a new one; a retry of its applied command then fails with
// ErrSessionExpired and is not applied again, and the session never
// starts again, even where there is room.
func TestForgottenSessionGetsADistinctError(t *testing.T) {
	synctest.Test(t, testForgottenSessionGetsADistinctError)
}

func testForgottenSessionGetsADistinctError(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 2,
		NodeOptions: []chain.NodeOption{chain.WithMaxSessions(1), chain.WithSessionExpiry(time.Nanosecond)}})
	ep := rawEndpoint(t, c, "")
	head := c.Addr(0)
	first := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 1, Name: "incr"})
	require.Nil(t, first.Err)
	// Another client, started later (its stamp is a later commit point),
	// takes the one place once session 1 has been idle for a clock move.
	other := startSession(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 2, Since: first.Offset, Name: "incr"})

	retry := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 1, Name: "incr"})
	require.NotNil(t, retry.Err, "the retry of the forgotten session's command")
	require.ErrorIs(t, retry.Err, chain.ErrSessionExpired)
	requireCountedEverywhere(t, c, counters, 2)

	// A client of the same run keeps getting the error, never a new
	// session; a new client run starts one.
	again := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 2, Acked: 2, Session: 1, Name: "incr"})
	require.NotNil(t, again.Err, "a later command of the forgotten session")
	require.ErrorIs(t, again.Err, chain.ErrSessionExpired)
	fresh := startSession(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 3, Acked: 3, Session: 3, Since: other.Offset, Name: "incr"})
	require.Equal(t, uint64(3), decodeCount(t, fresh.Result))
}

// TestClientStartsANewSessionAfterItsSessionExpired: a Client whose
// session the chain forgot gets ErrSessionExpired once, for the command of
// the forgotten session, and its next write starts a new session.
func TestClientStartsANewSessionAfterItsSessionExpired(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 2,
		NodeOptions: []chain.NodeOption{chain.WithMaxSessions(1), chain.WithSessionExpiry(time.Nanosecond)}})
	ctx := testCtx(t)
	one, two := c.Client(), c.Client()
	_, err := one.Do(ctx, "incr", nil)
	require.NoError(t, err)
	// two takes the place of one's session once it has been idle for a
	// move of the chain's clock: the first tries may find it in use.
	for range 100 {
		if _, err = two.Do(ctx, "incr", nil); !errors.Is(err, chain.ErrTooManySessions) {
			break
		}
	}
	require.NoError(t, err)
	_, err = one.Do(ctx, "incr", nil)
	require.ErrorIs(t, err, chain.ErrSessionExpired)
	out, err := one.Do(ctx, "incr", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(3), decodeCount(t, out))
}

// startSession sends req, the first command of a new session, until the
// table has room for the session (it may be full of sessions whose idle
// time has not yet been counted), and returns its response.
func startSession(t *testing.T, ep chain.Endpoint, head string, req *wire.ClientRequest) *wire.ClientResponse {
	t.Helper()
	// The head refuses while the session it would replace is not yet
	// applied there (the head applies a committed entry once the commit
	// point reaches it), so this waits for that, within a bound.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp := roundTrip(t, ep, head, req)
		if !errors.Is(resp.Err, chain.ErrTooManySessions) {
			require.Nil(t, resp.Err)
			return resp
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no room for session %d", req.Session)
	return nil
}

// TestWaitingCommandIsNotExpiredByLaterOnes is defect 6 of the safety
// issue: while a client's command waits (lost, to be retried), over 4096
// of its later commands finish. The waiting command must still be applied
// when it arrives; before, its session had forgotten past it and answered
// ErrResultExpired ("applied before") though it never was.
func TestWaitingCommandIsNotExpiredByLaterOnes(t *testing.T) {
	synctest.Test(t, testWaitingCommandIsNotExpiredByLaterOnes)
}

func testWaitingCommandIsNotExpiredByLaterOnes(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 2})
	ep := rawEndpoint(t, c, "")
	head := c.Addr(0)
	const later = 4200 // commands 2..4201; command 1 waits
	busy := 0
	for from := uint64(2); from < 2+later; from += 200 {
		batch := &wire.RequestBatch{}
		for id := from; id < min(from+200, 2+later); id++ {
			batch.Requests = append(batch.Requests, wire.ClientRequest{Op: wire.OpCommand, ID: id, Acked: 1, Session: 1, Name: "incr"})
		}
		require.NoError(t, ep.Send(testCtx(t), head, batch))
		for _, resp := range receiveResponses(t, ep, len(batch.Requests), nil) {
			if resp.Err != nil {
				require.ErrorIs(t, resp.Err, chain.ErrBusy, "command %d", resp.ID)
				require.GreaterOrEqual(t, resp.ID, uint64(1+4096), "only commands beyond the window wait")
				busy++
			}
		}
	}
	require.Equal(t, later+1-4096, busy)

	waited := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 1, Name: "incr"})
	require.Nil(t, waited.Err, "the waiting command is applied")
	require.Equal(t, uint64(4096), decodeCount(t, waited.Result))

	// With the mark past the first window, a refused command goes in.
	past := roundTrip(t, ep, head, &wire.ClientRequest{Op: wire.OpCommand, ID: 2 + later - 1, Acked: 2 + later - 1, Session: 1, Name: "incr"})
	require.Nil(t, past.Err)
	require.NoError(t, c.WaitConverged(testCtx(t)))
	require.Equal(t, uint64(4097), counters(1).value())
}
