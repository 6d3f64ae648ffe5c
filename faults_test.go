package chain_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/wire"
)

func TestQueryNeverSeesUncommittedWrite(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3})
	cl := c.Client()
	ctx := testCtx(t)
	_, err := cl.Do(ctx, "incr", nil)
	require.NoError(t, err)

	// Cut the tail off: the head and middle take the next write, but it
	// cannot commit.
	c.Network().Partition([]string{c.Addr(1)}, []string{c.Addr(2)})
	pending := make(chan error, 1)
	go func() {
		_, err := cl.Do(ctx, "incr", nil)
		pending <- err
	}()
	require.Eventually(t, func() bool { return c.Node(1).Stats().LastOffset == 2 },
		10*time.Second, time.Millisecond, "the middle node never received the write")

	out, err := cl.Query(ctx, "count", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), decodeCount(t, out), "query saw an uncommitted write")
	for i := range 3 {
		// Every node applies the committed write in its own time; none
		// may apply the one that cannot commit.
		require.Eventually(t, func() bool { return counters(i).value() >= 1 },
			10*time.Second, time.Millisecond, "node %d never applied the committed write", i)
		require.Equal(t, uint64(1), counters(i).value(), "node %d applied an uncommitted write", i)
		require.Equal(t, uint64(1), c.Node(i).Stats().CommitPoint)
	}
	ents, err := cl.Read(ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, ents, 1, "read returned an uncommitted entry")

	c.Network().Heal()
	require.NoError(t, <-pending)
	out, err = cl.Query(ctx, "count", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), decodeCount(t, out))
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 3})
	cl := c.Client()
	c.Network().Isolate(c.Addr(2)) // nothing can commit or be read

	calls := map[string]func(ctx context.Context) error{
		"do":     func(ctx context.Context) error { _, err := cl.Do(ctx, "incr", nil); return err },
		"append": func(ctx context.Context) error { _, err := cl.Append(ctx, []byte("x")); return err },
		"query":  func(ctx context.Context) error { _, err := cl.Query(ctx, "count", nil); return err },
		"read":   func(ctx context.Context) error { _, err := cl.Read(ctx, 1, 1); return err },
		"latest": func(ctx context.Context) error { _, err := cl.Latest(ctx); return err },
		"wait": func(ctx context.Context) error {
			return c.Node(0).Log().WaitCommitted(ctx, 100)
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- call(ctx) }()
			time.Sleep(20 * time.Millisecond) // let the call start waiting
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("call did not return after its context was cancelled")
			}
		})
	}
	// A deadline reports itself too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := cl.Do(ctx, "incr", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClientCloseFailsPendingCalls(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 2})
	cl := c.Client()
	c.Network().Isolate(c.Addr(1))
	done := make(chan error, 1)
	go func() { _, err := cl.Do(context.Background(), "incr", nil); done <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, cl.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, chain.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return after Close")
	}
	_, err := cl.Append(context.Background(), nil)
	require.ErrorIs(t, err, chain.ErrClosed)
}

// TestBackpressureBoundsTheHead floods a chain whose tail is cut off: the
// head stops ordering at its bytes-in-flight bound, refuses what its queue
// cannot hold, and every write completes once the chain heals.
func TestBackpressureBoundsTheHead(t *testing.T) {
	const entry, inflight, pending = 1000, 64 << 10, 16
	c := chaintest.Start(t, chaintest.Options{Nodes: 3,
		NodeOptions: []chain.NodeOption{
			chain.WithMaxEntrySize(entry), chain.WithMaxBatchBytes(4 * entry),
			chain.WithMaxInflightBytes(inflight), chain.WithMaxPendingWrites(pending),
		},
		ClientOptions: []chain.ClientOption{chain.WithMaxInflight(32), chain.WithRetryInterval(5*time.Millisecond, 20*time.Millisecond)},
	})
	c.Network().Partition([]string{c.Addr(1)}, []string{c.Addr(2)})
	ctx := testCtx(t)
	var g errgroup.Group
	for range 4 {
		cl := c.Client()
		for range 100 {
			g.Go(func() error {
				_, err := cl.Append(ctx, make([]byte, entry-100))
				return err
			})
		}
	}
	head := c.Node(0)
	require.Eventually(t, func() bool { return head.Stats().Refused > 0 }, 10*time.Second, time.Millisecond,
		"the head never refused a write while its bound was reached")
	s := head.Stats()
	require.LessOrEqual(t, s.InflightBytes, int64(inflight+4*entry))
	require.LessOrEqual(t, s.PendingWrites, pending)
	require.Less(t, s.LastOffset, uint64(400), "the head ordered everything despite its bound")

	c.Network().Heal()
	require.NoError(t, g.Wait())
	latest, err := c.Client().Latest(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(400), latest, "a write was lost or duplicated")
}

func TestMessagesFromAnotherEpochAreDropped(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 2})
	cl := c.Client()
	ctx := testCtx(t)
	_, err := cl.Append(ctx, []byte("a"))
	require.NoError(t, err)
	// Pose as the tail: kill it and take its address.
	c.Kill(1)
	ep := rawEndpoint(t, c, c.Addr(1))
	require.NoError(t, ep.Send(ctx, c.Addr(0), &wire.PullRequest{Epoch: 0, Next: 1}))
	require.NoError(t, ep.Send(ctx, c.Addr(0), &wire.PullRequest{Epoch: 1, Next: 1}))
	select {
	case in := <-ep.Receive():
		resp, ok := in.Msg.(*wire.PullResponse)
		require.True(t, ok)
		require.Equal(t, uint64(1), resp.Epoch)
		require.Len(t, resp.Entries, 1)
	case <-time.After(10 * time.Second):
		t.Fatal("no pull response")
	}
	// Only the current-epoch pull was answered.
	select {
	case in := <-ep.Receive():
		t.Fatalf("unexpected second message %T", in.Msg)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestRestartedNodeCatchesUp kills the middle node under load, restarts it
// on its storage, and checks that nothing acknowledged is lost.
func TestRestartedNodeCatchesUp(t *testing.T) {
	for _, victim := range []int{0, 1, 2} {
		t.Run([]string{"head", "middle", "tail"}[victim], func(t *testing.T) {
			c, counters := counterCluster(t, chaintest.Options{Nodes: 3,
				NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
				ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 20*time.Millisecond)},
			})
			stop := c.WatchInvariants(time.Millisecond)
			cl := c.Client()
			ctx := testCtx(t)
			var acked []uint64
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 100 {
						out, err := cl.Do(ctx, "incr", nil)
						if err != nil {
							t.Errorf("incr: %v", err)
							return
						}
						mu.Lock()
						acked = append(acked, decodeCount(t, out))
						mu.Unlock()
					}
				})
			}
			time.Sleep(20 * time.Millisecond)
			c.Kill(victim)
			time.Sleep(20 * time.Millisecond)
			c.Restart(victim)
			wg.Wait()
			require.Len(t, acked, 400)
			require.NoError(t, c.WaitConverged(ctx))
			require.Zero(t, stop())
			for i := range 3 {
				require.Equal(t, uint64(400), counters(i).value(), "node %d (seed %d)", i, c.Seed())
			}
			require.False(t, errors.Is(c.Node(victim).Err(), chain.ErrClosed))
			requireEachCommandOnce(t, c)
		})
	}
}

// requireEachCommandOnce checks that no (client, sequence number) appears
// twice in the tail's log: the head keeps retries out of the log.
func requireEachCommandOnce(t *testing.T, c *chaintest.Cluster) {
	t.Helper()
	st := c.Storage(len(c.Config().Members) - 1)
	ents, err := st.Entries(st.FirstOffset(), st.LastOffset()+1, 1<<40)
	require.NoError(t, err)
	type id struct {
		client  string
		session uint64
		seq     uint64
	}
	seen := make(map[id]uint64)
	for _, e := range ents {
		k := id{e.Client, e.Session, e.Seq}
		prev, dup := seen[k]
		require.False(t, dup, "command %s/%d at offsets %d and %d (seed %d)", e.Client, e.Seq, prev, e.Offset, c.Seed())
		seen[k] = e.Offset
	}
}
