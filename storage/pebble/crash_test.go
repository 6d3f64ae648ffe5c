package pebble

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// TestCrashSafety runs a seeded random sequence of appends (batches of 1
// to 50 entries), suffix and prefix truncations and SetMeta("commit")
// calls on Pebble's crashable in-memory file system, and at many points
// takes a crash clone of the file system (a state it could be in after a
// machine crash: what was synced, plus a random part of what was not),
// opens a Storage on the clone and checks what it recovered against a
// model of the operations.
//
// Crash points are taken between operations, when the recovered state
// must be exactly that of every operation so far, and during an
// operation, just before or just after some sync while it is in flight,
// when it must be that state either without or with the in-flight
// operation, which is all or nothing. Matching one of them whole checks
// that every acknowledged append is present with identical content,
// offsets are dense from FirstOffset to LastOffset, nothing beyond what
// was appended appears, the "commit" value is the last acknowledged one
// or the in-flight one, and completed truncations are reflected.
//
// CHAIN_CRASH_POINTS=N sets the number of crash points (default 1000);
// CHAIN_CRASH_SEED=S replays a run's operations and where its crash
// points fall. Pebble's background flushes run on their own schedule, so
// which unsynced data a replayed crash clone keeps may differ.
func TestCrashSafety(t *testing.T) {
	points := envUint(t, "CHAIN_CRASH_POINTS", 1000)
	seed := envUint(t, "CHAIN_CRASH_SEED", rand.Uint64())
	t.Logf("seed %d (replay with CHAIN_CRASH_SEED=%d), %d crash points", seed, seed, points)
	c := newCrashTest(t, seed)
	defer c.close()
	for c.points < points {
		c.step()
	}
	t.Logf("%d operations, %d crash points; %d during an operation, of which %d held it; log [%d, %d]",
		c.ops, c.points, c.during, c.duringHeld, c.model.first, c.model.next()-1)
}

// envUint returns the unsigned integer in environment variable name, or
// def when it is unset.
func envUint(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err, "%s=%q", name, s)
	return v
}

// crashState is the model's state: what a recovered storage must hold.
type crashState struct {
	first   uint64
	entries []chain.Entry // at offsets first, first+1, ...
	commit  []byte        // nil until SetMeta("commit") was called
}

func (s crashState) next() uint64 { return s.first + uint64(len(s.entries)) }

// crashOp is one operation of the workload.
type crashOp struct {
	name  string
	do    func(st *Storage) error
	apply func(s crashState) crashState // returns the state after the op, sharing nothing mutable with s
}

type crashTest struct {
	t      *testing.T
	rng    *rand.Rand // operations; used by the test goroutine only
	mem    *vfs.MemFS
	fs     *hookFS
	st     *Storage
	model  crashState
	ops    uint64
	points uint64
	during uint64
	// duringHeld counts the crash points during an operation whose clone
	// held the operation.
	duringHeld uint64
	commitID   int

	// mu guards the crash point armed for the operation in flight, which
	// the sync hook takes on whichever goroutine syncs.
	mu       sync.Mutex
	armed    bool
	armAfter bool // take it after a sync rather than before
	armCfg   vfs.CrashCloneCfg
	armedFor string
	takenAt  string
	taken    *vfs.MemFS
	cloneRNG *rand.Rand // crash clones' choices of unsynced data; guarded by mu
	opts     []Option
}

func newCrashTest(t *testing.T, seed uint64) *crashTest {
	c := &crashTest{
		t:        t,
		rng:      rand.New(rand.NewPCG(seed, 1)),
		cloneRNG: rand.New(rand.NewPCG(seed, 2)),
		mem:      vfs.NewCrashableMem(),
		model:    crashState{first: 1},
	}
	c.fs = &hookFS{FS: c.mem, onSync: c.onSync}
	// Small memtables make Pebble flush and compact during the run, so
	// crash points also fall during flushes, and recovery reads tables
	// and range deletions as well as the write-ahead log.
	c.opts = []Option{WithFS(c.fs), withMemTableSize(128 << 10), WithLogger(quietLogger())}
	var err error
	c.st, err = Open("/db", c.opts...)
	require.NoError(t, err)
	return c
}

func (c *crashTest) close() {
	require.NoError(c.t, c.st.Close())
}

// onSync takes the armed crash point, if any, at the first matching sync.
func (c *crashTest) onSync(path string, after bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed || c.taken != nil || after != c.armAfter {
		return
	}
	cfg := c.armCfg
	cfg.RNG = c.cloneRNG
	c.taken = c.mem.CrashClone(cfg)
	c.takenAt = fmt.Sprintf("%s the sync of %s", map[bool]string{false: "before", true: "after"}[after], path)
}

// cloneCfg picks how much unsynced data a crash clone keeps.
func (c *crashTest) cloneCfg() vfs.CrashCloneCfg {
	pct := []int{0, 0, 10, 50, 90, 100, 100}[c.rng.IntN(7)]
	return vfs.CrashCloneCfg{UnsyncedDataPercent: pct}
}

// step runs one operation, with a crash point during it half the time and
// one after it half the time; now and then it reopens the storage.
func (c *crashTest) step() {
	t := c.t
	op := c.nextOp()
	c.ops++
	arm := c.rng.IntN(2) == 0
	c.mu.Lock()
	c.armed, c.armAfter, c.armCfg, c.armedFor, c.taken = arm, c.rng.IntN(2) == 0, c.cloneCfg(), op.name, nil
	c.mu.Unlock()

	require.NoError(t, op.do(c.st), "op %d: %s", c.ops, op.name)

	c.mu.Lock()
	taken, takenAt := c.taken, c.takenAt
	c.armed, c.taken = false, nil
	c.mu.Unlock()
	before := c.model
	c.model = op.apply(before)
	if taken != nil {
		if c.verify(taken, fmt.Sprintf("during op %d (%s), %s", c.ops, op.name, takenAt), before, c.model) == 1 {
			c.duringHeld++
		}
		c.during++
	}
	if c.rng.IntN(2) == 0 {
		cfg := c.cloneCfg()
		c.mu.Lock()
		// How many choices a clone makes depends on the files Pebble's
		// background work left, so clones draw from their own generator
		// and the operations stay the same for a seed.
		cfg.RNG = c.cloneRNG
		clone := c.mem.CrashClone(cfg)
		c.mu.Unlock()
		c.verify(clone, fmt.Sprintf("after op %d (%s)", c.ops, op.name), c.model)
	}
	if c.rng.IntN(100) == 0 {
		require.NoError(t, c.st.Close())
		var err error
		c.st, err = Open("/db", c.opts...)
		require.NoError(t, err, "reopen after op %d", c.ops)
	}
}

// nextOp picks the next operation from the model's state.
func (c *crashTest) nextOp() crashOp {
	m := c.model
	n := uint64(len(m.entries))
	switch r := c.rng.IntN(100); {
	case n > 0 && r < 8:
		from := m.next() - 1 - c.rng.Uint64N(min(n, 60))
		return crashOp{
			name: fmt.Sprintf("TruncateSuffix(%d)", from),
			do:   func(st *Storage) error { return st.TruncateSuffix(from) },
			apply: func(s crashState) crashState {
				s.entries = s.entries[: from-s.first : from-s.first]
				return s
			},
		}
	case r < 16 || n > 800:
		before := m.first + 1 + c.rng.Uint64N(n+5)
		return crashOp{
			name: fmt.Sprintf("TruncatePrefix(%d)", before),
			do:   func(st *Storage) error { return st.TruncatePrefix(before) },
			apply: func(s crashState) crashState {
				if before >= s.next() {
					return crashState{first: before, commit: s.commit}
				}
				s.entries = s.entries[before-s.first:]
				s.first = before
				return s
			},
		}
	case r < 30:
		c.commitID++
		value := []byte(strconv.Itoa(c.commitID))
		return crashOp{
			name: fmt.Sprintf("SetMeta(commit, %s)", value),
			do:   func(st *Storage) error { return st.SetMeta("commit", value) },
			apply: func(s crashState) crashState {
				s.commit = value
				return s
			},
		}
	default:
		es := make([]chain.Entry, 1+c.rng.IntN(50))
		for i := range es {
			data := make([]byte, c.rng.IntN(24))
			for j := range data {
				data[j] = byte(c.rng.Uint32())
			}
			es[i] = chain.Entry{Offset: m.next() + uint64(i), Epoch: c.ops, Seq: c.rng.Uint64N(1000), Data: data}
		}
		return crashOp{
			name: fmt.Sprintf("Append(%d entries at %d)", len(es), m.next()),
			do:   func(st *Storage) error { return st.Append(es) },
			apply: func(s crashState) crashState {
				s.entries = append(s.entries[:len(s.entries):len(s.entries)], es...)
				return s
			},
		}
	}
}

// verify opens a storage on the crash clone fs, checks that it holds
// exactly one of the candidate states and returns that state's index.
func (c *crashTest) verify(fs *vfs.MemFS, where string, candidates ...crashState) int {
	t := c.t
	c.points++
	st, err := Open("/db", WithFS(fs), WithLogger(quietLogger()))
	require.NoError(t, err, "open the crash clone taken %s", where)
	defer func() { require.NoError(t, st.Close()) }()
	first, last := st.FirstOffset(), st.LastOffset()
	got, err := st.Entries(first, last+1, math.MaxInt)
	require.NoError(t, err, "read [%d, %d] from the crash clone taken %s", first, last, where)
	commit, ok, err := st.Meta("commit")
	require.NoError(t, err, "read meta from the crash clone taken %s", where)
	if !ok {
		commit = nil
	}
	var mismatches []string
	for i, want := range candidates {
		diff := diffState(want, first, got, commit, ok)
		if diff == "" {
			return i
		}
		mismatches = append(mismatches, diff)
	}
	require.Failf(t, "crash clone holds no state the operations allow",
		"taken %s: recovered log [%d, %d], commit %q; %v", where, first, last, commit, mismatches)
	return -1
}

// diffState describes how the recovered log differs from want, or
// returns "" when it is the same.
func diffState(want crashState, first uint64, got []chain.Entry, commit []byte, ok bool) string {
	if first != want.first || uint64(len(got)) != uint64(len(want.entries)) {
		return fmt.Sprintf("want log [%d, %d]", want.first, want.next()-1)
	}
	if (want.commit != nil) != ok || string(want.commit) != string(commit) {
		return fmt.Sprintf("want commit %q", want.commit)
	}
	for i := range got {
		w, g := want.entries[i], got[i]
		if w.Offset != g.Offset || w.Epoch != g.Epoch || w.Seq != g.Seq || string(w.Data) != string(g.Data) ||
			w.Client != g.Client || w.Command != g.Command || w.Acked != g.Acked {
			return fmt.Sprintf("want entry %d = %+v, got %+v", w.Offset, w, g)
		}
	}
	return ""
}
