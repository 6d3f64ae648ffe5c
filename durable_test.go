package chain_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/storage/pebble"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
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
			w := startLogWorkload(c, seed, 8, 2000, 0)
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

// crashableChain is a static chain of n nodes on Pebble over crashable
// in-memory filesystems, for tests of what survives a crash of every node.
type crashableChain struct {
	t     *testing.T
	net   *inmem.Network
	cfg   chain.Config
	fss   []*vfs.MemFS
	nodes []*chain.Node
	sts   []*pebble.Storage
	setup func(i int, n *chain.Node) error // registers handlers, before every start
}

func newCrashableChain(t *testing.T, n int, setup func(i int, n *chain.Node) error) *crashableChain {
	c := &crashableChain{t: t, net: inmem.New(inmem.Options{}), cfg: chain.Config{Epoch: 1}, setup: setup}
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		c.cfg.Members = append(c.cfg.Members, chain.Member{ID: id, Addr: id})
		c.fss = append(c.fss, vfs.NewCrashableMem())
	}
	c.nodes = make([]*chain.Node, n)
	c.sts = make([]*pebble.Storage, n)
	for i := range n {
		c.start(i)
	}
	return c
}

func (c *crashableChain) start(i int) {
	st, err := pebble.Open("node", pebble.WithFS(c.fss[i]))
	require.NoError(c.t, err)
	node, err := chain.NewNode(c.cfg.Members[i].ID, chain.WithTransport(c.net), chain.WithStorage(st), chain.WithConfig(c.cfg))
	require.NoError(c.t, err)
	if c.setup != nil {
		require.NoError(c.t, c.setup(i, node))
	}
	require.NoError(c.t, node.Start(context.Background()))
	c.nodes[i], c.sts[i] = node, st
}

// crashAll takes every node's disk as synced (tail first, as crashes a
// moment apart would leave them), stops the nodes and restarts them on
// those disks: nothing a node did not sync, and nothing it saved at Close,
// survives.
func (c *crashableChain) crashAll() {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := len(c.fss) - 1; i >= 0; i-- {
		c.fss[i] = c.fss[i].CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0, RNG: rng})
	}
	for i := range c.nodes {
		require.NoError(c.t, c.nodes[i].Close())
		require.NoError(c.t, c.sts[i].Close())
	}
	for i := range c.nodes {
		c.start(i)
	}
}

func (c *crashableChain) close() {
	for i := range c.nodes {
		require.NoError(c.t, c.nodes[i].Close())
		require.NoError(c.t, c.sts[i].Close())
	}
}

// TestRestartedTailCommitsWhatItHolds: after a crash of every node, the
// tail of a static chain (and a sole member, its own tail) commits what its
// log holds at once: every entry there is held by every member before it.
// A tail that waited for a saved commit point instead hid acknowledged
// writes (Latest 0 after an acknowledged append) and left their retries
// unanswered.
func TestRestartedTailCommitsWhatItHolds(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCrashableChain(t, nodes, nil)
				defer c.close()
				cl, err := chain.NewClient(chain.WithTransport(c.net), chain.WithConfig(c.cfg))
				require.NoError(t, err)
				defer cl.Close()
				off, err := cl.Append(t.Context(), []byte("acknowledged"))
				require.NoError(t, err)

				c.crashAll()
				latest, err := cl.Latest(t.Context())
				require.NoError(t, err)
				require.GreaterOrEqual(t, latest, off, "the acknowledged append is committed after the restart")
				ents, err := cl.Read(t.Context(), off, 1)
				require.NoError(t, err)
				require.Len(t, ents, 1)
				require.Equal(t, "acknowledged", string(ents[0].Data))
			})
		})
	}
}

// TestRetryAfterRestartIsNotOrderedAgain: a sole member restarted after a
// crash commits the entries its log holds beyond the saved commit point;
// until it has applied them they are in flight, so a client's retry of one
// of them is not put in the log a second time (which would apply it
// twice), and the retry is answered with the first result.
func TestRetryAfterRestartIsNotOrderedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		counters := make([]*counter, 0, 2)
		c := newCrashableChain(t, 1, func(i int, n *chain.Node) error {
			cnt := &counter{}
			counters = append(counters, cnt)
			return cnt.register(n)
		})
		defer c.close()
		ep, err := c.net.Listen("client")
		require.NoError(t, err)
		defer ep.Close()
		req := &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 7, Name: "incr"}
		first := roundTrip(t, ep, "n1", req)
		require.Nil(t, first.Err)

		c.crashAll()
		retry := roundTrip(t, ep, "n1", req)
		require.Nil(t, retry.Err)
		require.Equal(t, first.Result, retry.Result)
		require.NoError(t, c.nodes[0].WaitApplied(t.Context(), c.nodes[0].Log().LastOffset()))
		require.Equal(t, uint64(1), c.nodes[0].Log().LastOffset(), "the retry was not appended again")
		require.Equal(t, 1, counters[len(counters)-1].calls, "the restarted node applied the command once")
	})
}

var errDiskFailed = errors.New("injected write error")

// failingStorage fails every Append once armed, as a disk that returns an
// I/O error would, and counts the calls.
type failingStorage struct {
	chain.Storage
	armed   atomic.Bool
	appends atomic.Int64 // Append calls after arming
}

func (s *failingStorage) Append(ents []chain.Entry) error {
	if s.armed.Load() {
		s.appends.Add(1)
		return errDiskFailed
	}
	return s.Storage.Append(ents)
}

// TestStorageWriteErrorStopsTheNode arms a write error on each node in turn:
// the node stops serving, says why in its log and to clients, and never
// retries the failed write.
func TestStorageWriteErrorStopsTheNode(t *testing.T) {
	for victim, role := range []string{"head", "middle", "tail"} {
		t.Run(role, func(t *testing.T) {
			var logs testutil.SyncBuffer
			disks := make([]*failingStorage, 3)
			c := chaintest.Start(t, chaintest.Options{Nodes: 3,
				OpenStorage: func(i int) (chain.Storage, error) {
					disks[i] = &failingStorage{Storage: memory.New()}
					return disks[i], nil
				},
				NodeOptions: []chain.NodeOption{chain.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))},
			})
			cl := c.Client()
			ctx := testCtx(t)
			_, err := cl.Append(ctx, []byte("before"))
			require.NoError(t, err)

			disks[victim].armed.Store(true)
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			_, err = cl.Append(short, []byte("after"))
			require.ErrorIs(t, err, context.DeadlineExceeded, "a write committed past a failed disk")
			require.Eventually(t, func() bool { return c.Node(victim).Err() != nil }, 10*time.Second, time.Millisecond)
			require.ErrorIs(t, c.Node(victim).Err(), errDiskFailed)
			require.Contains(t, logs.String(), "node stopped serving")
			require.Contains(t, logs.String(), errDiskFailed.Error())
			require.Equal(t, int64(1), disks[victim].appends.Load(), "the failed write was retried")

			if victim == 0 {
				// The head refuses clients with the reason.
				short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
				_, err = cl.Append(short, []byte("refused"))
				require.ErrorContains(t, err, "node stopped")
				require.ErrorContains(t, err, errDiskFailed.Error())
			}
			// Nothing past the failure was acknowledged, and the first write
			// is still there.
			latest, err := c.Node(2).Log().Read(ctx, 1, 10)
			require.NoError(t, err)
			require.Len(t, latest, 1)
			require.Equal(t, "before", string(latest[0].Data))
		})
	}
}
