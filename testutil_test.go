package chain_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
)

// testCtx returns a context that bounds a test step; a step that hangs
// fails instead of blocking the suite.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// counter is a test state machine: "incr" adds one and returns the new
// count, "count" reads it. It records how often each command ran.
type counter struct {
	mu    sync.Mutex
	n     uint64
	calls int
}

func (c *counter) register(n *chain.Node) error {
	if err := n.Handle("incr", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.n++
		c.calls++
		return binary.BigEndian.AppendUint64(nil, c.n), nil
	}); err != nil {
		return err
	}
	if err := n.Handle("fail", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		return nil, errFailing
	}); err != nil {
		return err
	}
	if err := n.Handle("panic", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		panic("handler bug")
	}); err != nil {
		return err
	}
	if err := n.Handle("big", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		return make([]byte, binary.BigEndian.Uint32(e.Data)), nil
	}); err != nil {
		return err
	}
	if err := n.HandleQuery("panic", func(ctx context.Context, q []byte) ([]byte, error) {
		panic("query bug")
	}); err != nil {
		return err
	}
	return n.HandleQuery("count", func(ctx context.Context, q []byte) ([]byte, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return binary.BigEndian.AppendUint64(nil, c.n), nil
	})
}

func (c *counter) value() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// counterCluster starts a chain whose nodes each run a counter; counters[i]
// is node i's (replaced on restart).
func counterCluster(t *testing.T, opts chaintest.Options) (*chaintest.Cluster, func(i int) *counter) {
	var mu sync.Mutex
	counters := make(map[int]*counter)
	opts.Setup = func(i int, n *chain.Node) error {
		c := &counter{}
		mu.Lock()
		counters[i] = c
		mu.Unlock()
		return c.register(n)
	}
	cl := chaintest.Start(t, opts)
	return cl, func(i int) *counter {
		mu.Lock()
		defer mu.Unlock()
		return counters[i]
	}
}

func decodeCount(t *testing.T, b []byte) uint64 {
	t.Helper()
	require.Len(t, b, 8)
	return binary.BigEndian.Uint64(b)
}

// requireCountedEverywhere waits for the chain of counters to converge
// and requires that every node counted want: each command was applied
// once on every node.
func requireCountedEverywhere(t *testing.T, c *chaintest.Cluster, counters func(i int) *counter, want uint64) {
	t.Helper()
	require.NoError(t, c.WaitConverged(testCtx(t)))
	for i := range c.Nodes() {
		require.Equal(t, want, counters(i).value(), "node %d", i)
	}
}

// logWorkload runs clients that append and read until stop, recording a
// history for the log model and the acknowledged appends.
type logWorkload struct {
	rec   *chaintest.Recorder
	mu    sync.Mutex
	acked map[uint64]string
	// ackTimes holds the call and return times of acknowledged appends.
	ackTimes [][2]time.Time
	stop     atomic.Bool
	wg       sync.WaitGroup
}

// startLogWorkload starts clients that append and read until maxOps each
// or finish, each waiting pace between its operations. In a synctest
// bubble pace must be positive: virtual time moves only while every
// goroutine waits, and clients that never wait would hold it still.
func startLogWorkload(c *chaintest.Cluster, seed int64, clients, maxOps int, pace time.Duration) *logWorkload {
	w := &logWorkload{rec: chaintest.NewRecorder(), acked: make(map[uint64]string)}
	for id := range clients {
		cl := c.Client()
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(id)))
		w.wg.Go(func() {
			for op := 0; op < maxOps && !w.stop.Load(); op++ {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if rng.IntN(4) > 0 {
					data := fmt.Sprintf("c%d-%d", id, op)
					p := w.rec.Begin(id, chaintest.LogInput{Op: chaintest.LogAppend, Data: data})
					called := time.Now()
					off, err := cl.Append(ctx, []byte(data))
					if err != nil {
						p.Unknown(chaintest.LogOutput{Unknown: true})
					} else {
						p.End(chaintest.LogOutput{Offset: off})
						w.mu.Lock()
						w.acked[off] = data
						w.ackTimes = append(w.ackTimes, [2]time.Time{called, time.Now()})
						w.mu.Unlock()
					}
				} else {
					in := chaintest.LogInput{Op: chaintest.LogRead, From: uint64(1 + rng.IntN(op+1)), Max: 1 + rng.IntN(5)}
					p := w.rec.Begin(id, in)
					ents, err := cl.Read(ctx, in.From, in.Max)
					if err != nil {
						p.Discard()
					} else {
						out := chaintest.LogOutput{}
						for _, e := range ents {
							out.Entries = append(out.Entries, string(e.Data))
						}
						p.End(out)
					}
				}
				cancel()
				if pace > 0 {
					time.Sleep(pace)
				}
			}
		})
	}
	return w
}

// ops returns the number of operations recorded so far.
func (w *logWorkload) ops() int { return w.rec.Len() }

// finish stops the clients and checks the run: invariants, every
// acknowledged append in the log, and a linearizable history.
func (w *logWorkload) finish(t *testing.T, c *chaintest.Cluster, stopWatch func() int, seed int64) {
	t.Helper()
	w.stop.Store(true)
	w.wg.Wait()
	c.Network().Heal()
	c.Network().ClearFaults()
	require.NoError(t, c.WaitConverged(testCtx(t)), "seed %d", seed)
	require.Zero(t, stopWatch(), "seed %d", seed)
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(t, w.acked, "seed %d: nothing was acknowledged", seed)
	checkAcknowledgedAppends(t, c, w.acked, seed)
	chaintest.CheckLinearizable(t, chaintest.LogModel(), w.rec.Operations(), seed)
}

// recoveryTime waits until an append called after failedAt is
// acknowledged and returns how long after failedAt that was.
func (w *logWorkload) recoveryTime(t *testing.T, failedAt time.Time) time.Duration {
	t.Helper()
	var took time.Duration
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, at := range w.ackTimes {
			if at[0].After(failedAt) && (took == 0 || at[1].Sub(failedAt) < took) {
				took = at[1].Sub(failedAt)
			}
		}
		return took > 0
	}, 20*time.Second, time.Millisecond, "no write succeeded after the failure")
	return took
}
