package pebble

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// snapCrashPoint is a crash clone of the file system taken at one step of
// a snapshot save.
type snapCrashPoint struct {
	step  string
	phase snapPhase
	fs    *vfs.MemFS
}

// snapPhase is where a crash point falls in a save.
type snapPhase int

const (
	// beforeRename: the new snapshot is not in place; the old one (or
	// none, for a first snapshot) must be found.
	beforeRename snapPhase = iota
	// renaming: between the rename and the end of the directory's fsync;
	// either may be found.
	renaming
	// durable: the directory's fsync returned; the new one must be found.
	durable
)

// TestSnapshotSaveCrashLeavesOldOrNew saves a snapshot on Pebble's
// crashable in-memory file system and takes a crash clone (what a machine
// crash could leave: what was synced plus some of what was not) just
// before and just after every step of the save: the temporary file's
// creation, each write, its fsync and close, the rename, the directory's
// fsync and the removal of the old snapshot. A storage opened on each
// clone must hold the old snapshot or the new one, whole, never neither
// and never anything else: the old one for a crash before the rename, the
// new one for a crash after the directory's fsync returned. It must also
// have removed the temporary file and the older snapshot, and kept the
// log.
func TestSnapshotSaveCrashLeavesOldOrNew(t *testing.T) {
	cases := []struct {
		name             string
		oldSize, newSize int // oldSize < 0: no old snapshot
	}{
		{"FirstSnapshot", -1, 200<<10 + 5},
		{"FirstSnapshotEmpty", -1, 0},
		{"ReplacesOne", 70000, 200<<10 + 5},
		{"ReplacesOneWithLessThanABlock", 300000, 10},
		{"EmptyReplacesOne", 1000, 0},
	}
	for _, c := range cases {
		for _, pct := range []int{0, 50, 100} {
			t.Run(fmt.Sprintf("%s/unsynced%d%%", c.name, pct), func(t *testing.T) {
				var old []byte
				if c.oldSize >= 0 {
					old = snapBytes(1, c.oldSize)
				}
				testSnapshotSaveCrash(t, old, snapBytes(2, c.newSize), pct)
			})
		}
	}
}

// snapBytes returns n deterministic bytes that differ with seed.
func snapBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// testSnapshotSaveCrash commits old at offset 5 when it is not nil, then
// saves content at offset 9 with a crash clone at every step, and checks
// every clone.
func testSnapshotSaveCrash(t *testing.T, old, content []byte, unsyncedPct int) {
	mem := vfs.NewCrashableMem()
	var (
		mu      sync.Mutex
		armed   bool
		phase   = beforeRename
		points  []snapCrashPoint
		rng     = rand.New(rand.NewPCG(uint64(len(content)), uint64(unsyncedPct)))
		snapDir = "/db/" + snapDirName
	)
	fs := &opFS{FS: mem, prefix: snapDir, onOp: func(op string, after bool) {
		mu.Lock()
		defer mu.Unlock()
		if !armed {
			return
		}
		if strings.HasPrefix(op, "rename") && !after {
			// The clone before the rename is the last one of the phase.
			defer func() { phase = renaming }()
		}
		if op == "sync "+snapDir && after {
			phase = durable
		}
		step := map[bool]string{false: "before ", true: "after "}[after] + op
		clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsyncedPct, RNG: rng})
		points = append(points, snapCrashPoint{step: step, phase: phase, fs: clone})
	}}
	s, err := Open("/db", WithFS(fs), WithLogger(quietLogger()))
	require.NoError(t, err)
	log := entriesAt(1, 20)
	require.NoError(t, s.Append(log))
	if old != nil {
		saveSnap(t, s, 5, old)
	}

	mu.Lock()
	armed = true
	mu.Unlock()
	saveSnap(t, s, 9, content)
	mu.Lock()
	armed = false
	require.Equal(t, durable, phase, "the save fsynced the snapshot directory")
	points = append(points, snapCrashPoint{
		step: "after Commit returned", phase: durable,
		fs: mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsyncedPct, RNG: rng}),
	})
	mu.Unlock()
	require.NoError(t, s.Close())

	// The file system keeps a directory's changes only at its fsync, all
	// together, so a removal of the old snapshot before the new one's
	// rename was durable would pass the checks of the clones; a real file
	// system may keep the removal alone.
	for _, p := range points {
		if strings.Contains(p.step, "remove "+snapDir+"/"+snapName(5)) {
			require.Equal(t, durable, p.phase, "%s: the old snapshot removed before the new one was durable", p.step)
		}
	}
	seen := map[string]int{}
	for _, p := range points {
		got := verifySnapCrash(t, p, old, content, log)
		seen[got]++
	}
	t.Logf("%d crash points: %v", len(points), seen)
	require.Greater(t, len(points), 10, "crash points in a save")
	require.Positive(t, seen["new"], "some crash points hold the new snapshot")
	require.Positive(t, seen["old"]+seen["none"], "some crash points hold what was there before")
}

// saveSnap saves content as the snapshot at offset with epoch 2, in
// writes of 7000 bytes.
func saveSnap(t *testing.T, s *Storage, offset uint64, content []byte) {
	t.Helper()
	w, err := s.CreateSnapshot(offset, 2)
	require.NoError(t, err)
	for rest := content; len(rest) > 0; {
		n := min(len(rest), 7000)
		_, err := w.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	require.NoError(t, w.Commit())
}

// verifySnapCrash opens a storage on the crash clone of p and checks that
// it holds what p's phase allows, whole, and returns "old", "new" or
// "none".
func verifySnapCrash(t *testing.T, p snapCrashPoint, old, content []byte, log []chain.Entry) string {
	t.Helper()
	where := fmt.Sprintf("crash %s", p.step)
	s, err := Open("/db", WithFS(p.fs), WithLogger(quietLogger()))
	require.NoError(t, err, where)
	defer func() { require.NoError(t, s.Close(), where) }()

	got, err := s.Entries(s.FirstOffset(), s.LastOffset()+1, 1<<30)
	require.NoError(t, err, where)
	require.Equal(t, log, got, "%s: the log", where)

	info, ok, err := s.LatestSnapshot()
	require.NoError(t, err, where)
	var found string
	switch {
	case !ok:
		found = "none"
		require.Nil(t, old, "%s: no snapshot, not even the old one", where)
	case info.Offset == 5:
		found = "old"
		require.NotNil(t, old, "%s: a snapshot at 5 appeared from nowhere", where)
		requireSnapContent(t, s, chain.SnapshotInfo{Offset: 5, Epoch: 2, Size: int64(len(old))}, old, where)
	case info.Offset == 9:
		found = "new"
		requireSnapContent(t, s, chain.SnapshotInfo{Offset: 9, Epoch: 2, Size: int64(len(content))}, content, where)
	default:
		require.Failf(t, "unknown snapshot", "%s: snapshot %+v", where, info)
	}
	switch p.phase {
	case beforeRename:
		require.NotEqual(t, "new", found, "%s: the new snapshot before its rename", where)
	case durable:
		require.Equal(t, "new", found, "%s: the new snapshot once durable", where)
	}

	names, err := p.fs.List("/db/" + snapDirName)
	require.NoError(t, err, where)
	var want []string
	if ok {
		want = []string{snapName(info.Offset)}
	}
	require.ElementsMatch(t, want, names, "%s: the snapshot directory after Open", where)
	return found
}

// requireSnapContent reads the newest snapshot of s and checks it is want.
func requireSnapContent(t *testing.T, s *Storage, info chain.SnapshotInfo, want []byte, where string) {
	t.Helper()
	r, err := s.OpenSnapshot()
	require.NoError(t, err, where)
	defer func() { require.NoError(t, r.Close(), where) }()
	require.Equal(t, info, r.Info(), where)
	got, err := io.ReadAll(r)
	require.NoError(t, err, where)
	require.True(t, bytes.Equal(want, got), "%s: content: %d bytes, want %d", where, len(got), len(want))
}
