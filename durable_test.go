package chain_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/storage/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// pebbleChain starts a 3-node chain whose nodes keep their logs on Pebble
// (syncing every write) in dir; Kill closes a node's storage and Restart
// reopens it from disk.
func pebbleChain(t *testing.T, seed int64) *chaintest.Cluster {
	dir := t.TempDir()
	return chaintest.Start(t, chaintest.Options{
		Nodes: 3, Seed: seed,
		OpenStorage: func(i int) (chain.Storage, error) {
			return pebble.Open(filepath.Join(dir, fmt.Sprintf("n%d", i+1)))
		},
		NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
		ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 40*time.Millisecond)},
	})
}

// TestPebbleChainSurvivesRestarts kills and restarts each node of a 3-node
// Pebble chain under load, then all three at once, while clients append
// and read; porcupine checks the history and every acknowledged append
// must be in the log at the tail afterwards.
func TestPebbleChainSurvivesRestarts(t *testing.T) {
	for _, seed := range runSeeds(t)[:1] {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			c := pebbleChain(t, seed)
			stopWatch := c.WatchInvariants(2 * time.Millisecond)
			w := startLogWorkload(c, seed, 8, 2000)
			pause := func() { time.Sleep(150 * time.Millisecond) }
			for victim := range 3 {
				pause()
				c.Kill(victim)
				pause()
				c.Restart(victim)
			}
			pause()
			for i := range 3 {
				c.Kill(i)
			}
			for i := range 3 {
				c.Restart(i)
			}
			pause()
			w.finish(t, c, stopWatch, seed)
		})
	}
}

// TestPebbleChainSurvivesACrashOfEveryNode crashes all three nodes of a
// Pebble chain at once under load, on Pebble's crashable in-memory
// filesystem: each node comes back with what it had synced plus a random
// part of what it had not, so the nodes persisted different amounts. No
// acknowledged append may be lost, and the chain must serve again.
func TestPebbleChainSurvivesACrashOfEveryNode(t *testing.T) {
	for _, seed := range runSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			var fsMu sync.Mutex
			fss := []*vfs.MemFS{vfs.NewCrashableMem(), vfs.NewCrashableMem(), vfs.NewCrashableMem()}
			c := chaintest.Start(t, chaintest.Options{
				Nodes: 3, Seed: seed,
				OpenStorage: func(i int) (chain.Storage, error) {
					fsMu.Lock()
					defer fsMu.Unlock()
					return pebble.Open("node", pebble.WithFS(fss[i]))
				},
				NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
				ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 40*time.Millisecond)},
			})
			// An append counts as acknowledged-before-the-crash if it
			// returned before the crash began, and as acknowledged by the
			// restarted chain if it started after the restart; one that
			// straddles the crash may or may not have survived it.
			const (
				beforeCrash = iota
				crashing
				restarted
			)
			var (
				mu      sync.Mutex
				acked   = make(map[uint64]string)
				counts  [3]int
				phase   atomic.Int32
				wg      sync.WaitGroup
				stopped atomic.Bool
			)
			for id := range 8 {
				cl := c.Client()
				wg.Go(func() {
					for op := 0; op < 5000 && !stopped.Load(); op++ {
						ctx, cancel := context.WithTimeout(context.Background(), time.Second)
						data := fmt.Sprintf("c%d-%d", id, op)
						started := phase.Load()
						off, err := cl.Append(ctx, []byte(data))
						ended := phase.Load()
						cancel()
						if err != nil || (started != restarted && ended != beforeCrash) {
							continue
						}
						mu.Lock()
						acked[off] = data
						counts[started]++
						mu.Unlock()
					}
				})
			}
			time.Sleep(200 * time.Millisecond)
			// The crash: every node's disk as it is now, losing a random
			// part of what was not synced. The disks are copied tail
			// first, as if each node crashed a moment after its successor:
			// copying the head first would let the running successors
			// keep entries the head sent after its copy, which no real
			// crash allows (a crashed node sends nothing more).
			phase.Store(crashing)
			rng := rand.New(rand.NewPCG(uint64(seed), 0))
			fsMu.Lock()
			clones := make([]*vfs.MemFS, 3)
			for i := len(fss) - 1; i >= 0; i-- {
				clones[i] = fss[i].CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(rng.Uint64(), 0))})
			}
			fsMu.Unlock()
			for i := range 3 {
				c.Kill(i)
			}
			fsMu.Lock()
			copy(fss, clones)
			fsMu.Unlock()
			for i := range 3 {
				c.Restart(i)
			}
			phase.Store(restarted)
			time.Sleep(200 * time.Millisecond)
			stopped.Store(true)
			wg.Wait()
			require.NoError(t, c.WaitConverged(testCtx(t)), "seed %d", seed)
			require.Zero(t, c.CheckInvariants(), "seed %d", seed)
			require.NotZero(t, counts[beforeCrash], "nothing was acknowledged before the crash")
			require.NotZero(t, counts[restarted], "the restarted chain acknowledged nothing")
			checkAcknowledgedAppends(t, c, acked, seed)
		})
	}
}

// syncFault fails every fsync of Pebble's write-ahead log while armed.
type syncFault struct{ armed atomic.Bool }

func (f *syncFault) MaybeError(op errorfs.Op) error {
	if f.armed.Load() && strings.HasSuffix(op.Path, ".log") &&
		(op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) {
		return errorfs.ErrInjected
	}
	return nil
}

func (f *syncFault) String() string { return "wal sync fault" }

// TestFsyncErrorStopsThePebbleNode fails the fsyncs of the tail's Pebble
// storage: the tail stops serving with the storage's error, and the write
// it could not make durable is never acknowledged.
func TestFsyncErrorStopsThePebbleNode(t *testing.T) {
	fault := &syncFault{}
	c := chaintest.Start(t, chaintest.Options{
		Nodes: 3,
		OpenStorage: func(i int) (chain.Storage, error) {
			var fs vfs.FS = vfs.NewMem()
			if i == 2 {
				fs = errorfs.Wrap(fs, fault)
			}
			return pebble.Open("node", pebble.WithFS(fs), pebble.WithLogger(slog.New(slog.DiscardHandler)))
		},
	})
	cl := c.Client()
	ctx := testCtx(t)
	_, err := cl.Append(ctx, []byte("durable"))
	require.NoError(t, err)

	fault.armed.Store(true)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = cl.Append(short, []byte("never durable"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	tail := c.Node(2)
	require.Eventually(t, func() bool { return tail.Err() != nil }, 10*time.Second, time.Millisecond)
	require.ErrorIs(t, tail.Err(), pebble.ErrFailed)
	require.ErrorIs(t, tail.Err(), errorfs.ErrInjected)
	st, err := cl.Status(ctx, c.Addr(2))
	require.NoError(t, err)
	require.Contains(t, st.Err, "injected")
	require.Equal(t, uint64(1), st.CommitPoint)
}
