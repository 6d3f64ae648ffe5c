package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// Snapshots tells RunSnapshots how to open and handle storages that
// implement chain.SnapshotStore.
type Snapshots struct {
	// Open returns a new, empty storage that implements
	// chain.SnapshotStore. The suite closes it. Required.
	Open func(t *testing.T) chain.Storage
	// Reopen closes s and opens the storage it kept, as a restarted node
	// does; the suite closes the storage it returns. Nil for a storage
	// that keeps nothing across Close: the subtests of reopening are then
	// not run.
	Reopen func(t *testing.T, s chain.Storage) chain.Storage
	// Corrupt damages, in the stored form of s's newest committed
	// snapshot, the content byte at index pos (below the snapshot's
	// size), as a disk fault would, while s is open; the suite then opens
	// the snapshot from s. Nil for a storage that cannot be damaged from
	// outside: the corruption subtests are then not run.
	Corrupt func(t *testing.T, s chain.Storage, pos int64)
}

// RunSnapshots runs the conformance suite of chain.SnapshotStore as
// subtests of t.
func RunSnapshots(t *testing.T, h Snapshots) {
	t.Helper()
	require.NotNil(t, h.Open, "Snapshots.Open")
	fresh := closedAtEnd(h.Open)
	store := func(t *testing.T) (chain.Storage, chain.SnapshotStore) {
		t.Helper()
		s := fresh(t)
		ss, ok := s.(chain.SnapshotStore)
		require.True(t, ok, "%T does not implement chain.SnapshotStore", s)
		return s, ss
	}
	t.Run("NoSnapshot", func(t *testing.T) { _, ss := store(t); testNoSnapshot(t, ss) })
	t.Run("SaveAndRead", func(t *testing.T) { testSaveAndRead(t, store) })
	t.Run("NewestWins", func(t *testing.T) { _, ss := store(t); testNewestWins(t, ss) })
	t.Run("AbortKeepsPrevious", func(t *testing.T) { _, ss := store(t); testAbortKeepsPrevious(t, ss) })
	t.Run("StaleRefused", func(t *testing.T) { _, ss := store(t); testStaleRefused(t, ss) })
	t.Run("OneWriterAtATime", func(t *testing.T) { _, ss := store(t); testOneWriter(t, ss) })
	t.Run("WriterEnds", func(t *testing.T) { _, ss := store(t); testWriterEnds(t, ss) })
	t.Run("ReaderKeepsItsSnapshot", func(t *testing.T) { _, ss := store(t); testReaderKeepsItsSnapshot(t, ss) })
	t.Run("ConcurrentReadersDuringSaves", func(t *testing.T) { _, ss := store(t); testConcurrentSnapshots(t, ss) })
	t.Run("IndependentOfLog", func(t *testing.T) { s, ss := store(t); testSnapshotIndependentOfLog(t, s, ss) })
	t.Run("AfterClose", func(t *testing.T) { testSnapshotAfterClose(t, h.Open) })
	if h.Reopen != nil {
		t.Run("Reopen", func(t *testing.T) { testSnapshotReopen(t, h) })
	}
	if h.Corrupt != nil {
		t.Run("Corrupt", func(t *testing.T) { testSnapshotCorrupt(t, h, fresh) })
	}
}

// snapshotContent returns n deterministic bytes that differ with seed.
func snapshotContent(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// saveSnapshot writes content as the snapshot at offset (epoch offset/10+1)
// in writes of at most chunk bytes and commits it.
func saveSnapshot(t *testing.T, ss chain.SnapshotStore, offset uint64, content []byte, chunk int) {
	t.Helper()
	w, err := ss.CreateSnapshot(offset, offset/10+1)
	require.NoError(t, err, "CreateSnapshot(%d)", offset)
	defer func() { require.NoError(t, w.Abort()) }()
	writeChunks(t, w, content, chunk)
	require.NoError(t, w.Commit(), "Commit of the snapshot at %d", offset)
}

// writeChunks writes content to w in writes of 1 to chunk bytes.
func writeChunks(t *testing.T, w io.Writer, content []byte, chunk int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(len(content)), uint64(chunk)))
	for rest := content; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(chunk))
		k, err := w.Write(rest[:n])
		require.NoError(t, err)
		require.Equal(t, n, k, "bytes written")
		rest = rest[n:]
	}
}

// readSnapshot reads the newest snapshot whole in reads of at most chunk
// bytes, checks its description and returns its content.
func readSnapshot(t *testing.T, ss chain.SnapshotStore, chunk int) (chain.SnapshotInfo, []byte) {
	t.Helper()
	r, err := ss.OpenSnapshot()
	require.NoError(t, err, "OpenSnapshot")
	defer func() { require.NoError(t, r.Close()) }()
	got, err := readChunks(r, chunk)
	require.NoError(t, err, "read the snapshot at %d", r.Info().Offset)
	info, ok, err := ss.LatestSnapshot()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, info, r.Info(), "the reader's Info and LatestSnapshot")
	return r.Info(), got
}

// readChunks reads r to its end in reads of at most chunk bytes and
// returns what it read; the error is nil when the end was io.EOF.
func readChunks(r io.Reader, chunk int) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, chunk)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// requireSnapshot checks that the newest snapshot is the one at offset
// saved by saveSnapshot with content want.
func requireSnapshot(t *testing.T, ss chain.SnapshotStore, offset uint64, want []byte) {
	t.Helper()
	info, got := readSnapshot(t, ss, 4096)
	require.Equal(t, chain.SnapshotInfo{Offset: offset, Epoch: offset/10 + 1, Size: int64(len(want))}, info)
	require.True(t, bytes.Equal(want, got), "content of the snapshot at %d: %d bytes read, want %d", offset, len(got), len(want))
}

func testNoSnapshot(t *testing.T, ss chain.SnapshotStore) {
	_, ok, err := ss.LatestSnapshot()
	require.NoError(t, err)
	require.False(t, ok, "a new storage has a snapshot")
	_, err = ss.OpenSnapshot()
	require.ErrorIs(t, err, chain.ErrNoSnapshot)
}

func testSaveAndRead(t *testing.T, store func(*testing.T) (chain.Storage, chain.SnapshotStore)) {
	cases := []struct {
		name              string
		size, wrote, read int
	}{
		{"Empty", 0, 1, 1},
		{"OneByte", 1, 1, 1},
		{"SmallInBytes", 3000, 1, 1},
		{"HundredKiBInSmallChunks", 100 << 10, 100, 333},
		{"MultiMiBInSmallChunks", 3<<20 + 17, 8 << 10, 1000},
		{"MultiMiBInLargeChunks", 5<<20 + 1, 1 << 20, 1 << 20},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ss := store(t)
			content := snapshotContent(uint64(i), c.size)
			saveSnapshot(t, ss, 42, content, c.wrote)
			info, got := readSnapshot(t, ss, c.read)
			require.Equal(t, chain.SnapshotInfo{Offset: 42, Epoch: 5, Size: int64(c.size)}, info)
			require.True(t, bytes.Equal(content, got), "content: %d bytes read, want %d", len(got), len(content))
		})
	}
	t.Run("ReadTwice", func(t *testing.T) {
		_, ss := store(t)
		content := snapshotContent(7, 70000)
		saveSnapshot(t, ss, 3, content, 5000)
		requireSnapshot(t, ss, 3, content)
		requireSnapshot(t, ss, 3, content)
	})
	t.Run("WriteDoesNotRetain", func(t *testing.T) {
		_, ss := store(t)
		content := snapshotContent(8, 1000)
		w, err := ss.CreateSnapshot(3, 1)
		require.NoError(t, err)
		buf := append([]byte{}, content...)
		_, err = w.Write(buf)
		require.NoError(t, err)
		copy(buf, bytes.Repeat([]byte{0xff}, len(buf)))
		require.NoError(t, w.Commit())
		requireSnapshot(t, ss, 3, content)
	})
}

func testNewestWins(t *testing.T, ss chain.SnapshotStore) {
	first, second := snapshotContent(1, 5000), snapshotContent(2, 300)
	saveSnapshot(t, ss, 5, first, 1000)
	requireSnapshot(t, ss, 5, first)
	saveSnapshot(t, ss, 9, second, 1000)
	requireSnapshot(t, ss, 9, second)
	saveSnapshot(t, ss, 1000, nil, 1)
	requireSnapshot(t, ss, 1000, nil)
}

func testAbortKeepsPrevious(t *testing.T, ss chain.SnapshotStore) {
	kept := snapshotContent(1, 5000)
	saveSnapshot(t, ss, 5, kept, 1000)
	w, err := ss.CreateSnapshot(9, 1)
	require.NoError(t, err)
	writeChunks(t, w, snapshotContent(2, 100000), 7000)
	require.NoError(t, w.Abort())
	requireSnapshot(t, ss, 5, kept)
	_, err = w.Write([]byte("more"))
	require.ErrorIs(t, err, chain.ErrClosed, "Write after Abort")
	require.ErrorIs(t, w.Commit(), chain.ErrClosed, "Commit after Abort")
	require.NoError(t, w.Abort(), "second Abort")
	requireSnapshot(t, ss, 5, kept)

	// The aborted offset may be saved again.
	next := snapshotContent(3, 10)
	saveSnapshot(t, ss, 9, next, 3)
	requireSnapshot(t, ss, 9, next)
}

func testStaleRefused(t *testing.T, ss chain.SnapshotStore) {
	kept := snapshotContent(1, 100)
	saveSnapshot(t, ss, 9, kept, 100)
	for _, off := range []uint64{0, 5, 8, 9} {
		_, err := ss.CreateSnapshot(off, 1)
		require.ErrorIs(t, err, chain.ErrStaleSnapshot, "CreateSnapshot(%d) below the newest at 9", off)
	}
	requireSnapshot(t, ss, 9, kept)
	// A refused snapshot does not hold the store's writer.
	saveSnapshot(t, ss, 10, nil, 1)
	requireSnapshot(t, ss, 10, nil)
}

func testOneWriter(t *testing.T, ss chain.SnapshotStore) {
	w, err := ss.CreateSnapshot(5, 1)
	require.NoError(t, err)
	_, err = ss.CreateSnapshot(6, 1)
	require.ErrorIs(t, err, chain.ErrSnapshotInProgress)
	require.NoError(t, w.Abort())
	w, err = ss.CreateSnapshot(6, 1)
	require.NoError(t, err)
	_, err = ss.CreateSnapshot(7, 1)
	require.ErrorIs(t, err, chain.ErrSnapshotInProgress)
	require.NoError(t, w.Commit())
	saveSnapshot(t, ss, 7, []byte("x"), 1)
	requireSnapshot(t, ss, 7, []byte("x"))
}

func testWriterEnds(t *testing.T, ss chain.SnapshotStore) {
	w, err := ss.CreateSnapshot(5, 1)
	require.NoError(t, err)
	_, err = w.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, w.Commit())
	_, err = w.Write([]byte("more"))
	require.ErrorIs(t, err, chain.ErrClosed, "Write after Commit")
	require.ErrorIs(t, w.Commit(), chain.ErrClosed, "second Commit")
	require.NoError(t, w.Abort(), "Abort after Commit")
	info, got := readSnapshot(t, ss, 10)
	require.Equal(t, chain.SnapshotInfo{Offset: 5, Epoch: 1, Size: 3}, info)
	require.Equal(t, "abc", string(got))
}

func testReaderKeepsItsSnapshot(t *testing.T, ss chain.SnapshotStore) {
	old, next := snapshotContent(1, 200000), snapshotContent(2, 1000)
	saveSnapshot(t, ss, 5, old, 10000)
	r, err := ss.OpenSnapshot()
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Close()) }()
	head := make([]byte, 1000)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	saveSnapshot(t, ss, 9, next, 1000)
	rest, err := readChunks(r, 3000)
	require.NoError(t, err, "read on after a newer snapshot was committed")
	require.Equal(t, uint64(5), r.Info().Offset)
	require.True(t, bytes.Equal(old, append(head, rest...)), "the reader's content")
	requireSnapshot(t, ss, 9, next)
}

// testConcurrentSnapshots reads the newest snapshot from several
// goroutines while one goroutine saves newer ones; each read must be one
// whole snapshot's content.
func testConcurrentSnapshots(t *testing.T, ss chain.SnapshotStore) {
	const saves, readers = 20, 3
	contentAt := func(off uint64) []byte { return snapshotContent(off, 20000+int(off)*100) }
	saveSnapshot(t, ss, 1, contentAt(1), 4096)
	done := make(chan struct{})
	errs := make([]error, readers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for off := uint64(2); off <= saves; off++ {
			if errs[0] = saveQuietly(ss, off, contentAt(off)); errs[0] != nil {
				return
			}
		}
	})
	for i := 1; i <= readers; i++ {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if errs[i] = readQuietly(ss, contentAt); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	requireSnapshot(t, ss, saves, contentAt(saves))
}

// saveQuietly saves content as the snapshot at offset and returns any
// error, for goroutines other than the test's.
func saveQuietly(ss chain.SnapshotStore, offset uint64, content []byte) error {
	w, err := ss.CreateSnapshot(offset, offset/10+1)
	if err != nil {
		return err
	}
	defer w.Abort()
	for rest := content; len(rest) > 0; {
		n := min(len(rest), 3000)
		if _, err := w.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return w.Commit()
}

// readQuietly reads the newest snapshot and checks it against contentAt
// of its offset.
func readQuietly(ss chain.SnapshotStore, contentAt func(uint64) []byte) error {
	r, err := ss.OpenSnapshot()
	if err != nil {
		return err
	}
	got, err := readChunks(r, 5000)
	if closeErr := r.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	info := r.Info()
	if want := contentAt(info.Offset); !bytes.Equal(want, got) || info.Size != int64(len(want)) {
		return fmt.Errorf("snapshot at %d: read %d bytes (size %d), not its content of %d", info.Offset, len(got), info.Size, len(want))
	}
	return nil
}

func testSnapshotIndependentOfLog(t *testing.T, s chain.Storage, ss chain.SnapshotStore) {
	es := appendN(t, s, 30)
	require.NoError(t, s.SetMeta("commit", []byte("30")))
	content := snapshotContent(1, 1000)
	saveSnapshot(t, ss, 20, content, 100)
	requireLog(t, s, 1, es)
	requireMeta(t, s, "commit", []byte("30"))
	require.NoError(t, s.TruncatePrefix(21))
	require.NoError(t, s.TruncateSuffix(25))
	requireLog(t, s, 21, es[20:24])
	requireSnapshot(t, ss, 20, content)
}

func testSnapshotAfterClose(t *testing.T, open func(*testing.T) chain.Storage) {
	s := open(t)
	ss := s.(chain.SnapshotStore)
	saveSnapshot(t, ss, 5, []byte("kept"), 2)
	r, err := ss.OpenSnapshot()
	require.NoError(t, err)
	w, err := ss.CreateSnapshot(9, 1)
	require.NoError(t, err)
	_, err = w.Write([]byte("half"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	_, err = w.Write([]byte("more"))
	require.ErrorIs(t, err, chain.ErrClosed, "Write after the storage's Close")
	require.ErrorIs(t, w.Commit(), chain.ErrClosed, "Commit after the storage's Close")
	require.NoError(t, w.Abort())
	_, err = r.Read(make([]byte, 10))
	require.ErrorIs(t, err, chain.ErrClosed, "Read after the storage's Close")
	_ = r.Close() // may report that the storage closed it
	_, err = ss.CreateSnapshot(10, 1)
	require.ErrorIs(t, err, chain.ErrClosed)
	_, _, err = ss.LatestSnapshot()
	require.ErrorIs(t, err, chain.ErrClosed)
	_, err = ss.OpenSnapshot()
	require.ErrorIs(t, err, chain.ErrClosed)
}

func testSnapshotReopen(t *testing.T, h Snapshots) {
	// Reopen closes the storage it is given, so the storages opened here
	// are closed by Reopen, and those it returns when the test ends.
	fresh := func(t *testing.T) chain.Storage {
		t.Helper()
		s := h.Open(t)
		require.NotNil(t, s, "open returned a nil storage")
		return s
	}
	reopen := func(t *testing.T, s chain.Storage) (chain.Storage, chain.SnapshotStore) {
		t.Helper()
		s = h.Reopen(t, s)
		require.NotNil(t, s, "Reopen returned a nil storage")
		t.Cleanup(func() { require.NoError(t, s.Close(), "Close") })
		return s, s.(chain.SnapshotStore)
	}
	t.Run("NoSnapshot", func(t *testing.T) {
		_, ss := reopen(t, fresh(t))
		testNoSnapshot(t, ss)
	})
	t.Run("KeepsNewest", func(t *testing.T) {
		s := fresh(t)
		ss := s.(chain.SnapshotStore)
		saveSnapshot(t, ss, 5, snapshotContent(1, 1000), 100)
		newest := snapshotContent(2, 1<<20+3)
		saveSnapshot(t, ss, 9, newest, 50000)
		_, ss = reopen(t, s)
		requireSnapshot(t, ss, 9, newest)
		_, err := ss.CreateSnapshot(9, 1)
		require.ErrorIs(t, err, chain.ErrStaleSnapshot, "the reopened store knows the newest offset")
	})
	t.Run("UncommittedIsGone", func(t *testing.T) {
		s := fresh(t)
		ss := s.(chain.SnapshotStore)
		kept := snapshotContent(1, 1000)
		saveSnapshot(t, ss, 5, kept, 100)
		aborted, err := ss.CreateSnapshot(7, 1)
		require.NoError(t, err)
		_, err = aborted.Write(snapshotContent(3, 5000))
		require.NoError(t, err)
		require.NoError(t, aborted.Abort())
		open, err := ss.CreateSnapshot(9, 1)
		require.NoError(t, err)
		_, err = open.Write(snapshotContent(2, 5000))
		require.NoError(t, err)
		_, ss = reopen(t, s) // closes s with open in progress
		requireSnapshot(t, ss, 5, kept)
		next := snapshotContent(4, 10)
		saveSnapshot(t, ss, 9, next, 10)
		requireSnapshot(t, ss, 9, next)
	})
	t.Run("WithLog", func(t *testing.T) {
		s := fresh(t)
		es := appendN(t, s, 30)
		content := snapshotContent(1, 1000)
		saveSnapshot(t, s.(chain.SnapshotStore), 20, content, 100)
		require.NoError(t, s.TruncatePrefix(21))
		s, ss := reopen(t, s)
		requireLog(t, s, 21, es[20:])
		requireSnapshot(t, ss, 20, content)
	})
}

func testSnapshotCorrupt(t *testing.T, h Snapshots, fresh opener) {
	for _, c := range []struct {
		name      string
		size, pos int64
	}{
		{"FirstByte", 100, 0},
		{"LastByte", 100, 99},
		{"Middle", 300000, 150001},
		{"LastOfMany", 300000, 299999},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fresh(t)
			content := snapshotContent(uint64(c.pos), int(c.size))
			saveSnapshot(t, s.(chain.SnapshotStore), 5, content, 10000)
			h.Corrupt(t, s, c.pos)
			ss := s.(chain.SnapshotStore)
			r, err := ss.OpenSnapshot()
			if err != nil {
				require.ErrorIs(t, err, chain.ErrCorrupt, "OpenSnapshot of a damaged snapshot")
				return
			}
			defer func() { require.NoError(t, r.Close()) }()
			got, err := readChunks(r, 1000)
			require.ErrorIs(t, err, chain.ErrCorrupt, "reading a snapshot damaged at byte %d", c.pos)
			require.LessOrEqual(t, int64(len(got)), c.pos, "bytes returned include the damaged one")
			require.True(t, bytes.Equal(content[:len(got)], got), "bytes returned before the damage")
		})
	}
}
