package chain_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/chaintest"
)

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

func startLogWorkload(c *chaintest.Cluster, seed int64, clients, maxOps int) *logWorkload {
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
