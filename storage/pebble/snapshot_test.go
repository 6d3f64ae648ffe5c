package pebble

import (
	"io"
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// snapPath is the path of the snapshot at offset of the storage at /db.
func snapPath(offset uint64) string { return "/db/" + snapDirName + "/" + snapName(offset) }

// openMem opens the storage at /db on fs.
func openMem(t *testing.T, fs vfs.FS) *Storage {
	t.Helper()
	s, err := Open("/db", WithFS(fs), WithLogger(quietLogger()))
	require.NoError(t, err)
	return s
}

// withSnapshot returns a file system holding a storage at /db whose
// newest snapshot is content at offset 5.
func withSnapshot(t *testing.T, content []byte) *vfs.MemFS {
	t.Helper()
	fs := vfs.NewMem()
	s := openMem(t, fs)
	saveSnap(t, s, 5, content)
	require.NoError(t, s.Close())
	return fs
}

// requireCorruptSnapshot checks that the storage on fs reports its newest
// snapshot damaged, and that a newer snapshot replaces it.
func requireCorruptSnapshot(t *testing.T, fs vfs.FS) {
	t.Helper()
	s := openMem(t, fs)
	defer func() { require.NoError(t, s.Close()) }()
	_, _, err := s.LatestSnapshot()
	require.ErrorIs(t, err, chain.ErrCorrupt, "LatestSnapshot")
	require.ErrorContains(t, err, snapName(5), "the error names the file")
	_, err = s.OpenSnapshot()
	require.ErrorIs(t, err, chain.ErrCorrupt, "OpenSnapshot")
	_, err = s.CreateSnapshot(5, 1)
	require.ErrorIs(t, err, chain.ErrStaleSnapshot, "the damaged snapshot's offset still counts")

	saveSnap(t, s, 6, []byte("replacement"))
	requireSnapContent(t, s, chain.SnapshotInfo{Offset: 6, Epoch: 2, Size: 11}, []byte("replacement"), "after replacing")
	_, err = fs.Stat(snapPath(5))
	require.Error(t, err, "the damaged snapshot was removed once replaced")
}

func TestSnapshotDamagedFramingIsReported(t *testing.T) {
	content := snapBytes(3, 150000)
	fileLen, ok := snapFileLen(uint64(len(content)), defaultBlockSize)
	require.True(t, ok)
	for name, damage := range map[string]func(t *testing.T, fs vfs.FS){
		"header magic":    func(t *testing.T, fs vfs.FS) { flipFileByte(t, fs, snapPath(5), 0) },
		"header epoch":    func(t *testing.T, fs vfs.FS) { flipFileByte(t, fs, snapPath(5), 25) },
		"header checksum": func(t *testing.T, fs vfs.FS) { flipFileByte(t, fs, snapPath(5), snapHeaderLen-1) },
		"trailer size":    func(t *testing.T, fs vfs.FS) { flipFileByte(t, fs, snapPath(5), fileLen-snapTrailerLen) },
		"trailer checksum": func(t *testing.T, fs vfs.FS) {
			flipFileByte(t, fs, snapPath(5), fileLen-1)
		},
		"cut short": func(t *testing.T, fs vfs.FS) { truncateFile(t, fs, snapPath(5), fileLen-snapTrailerLen-1) },
		"cut in the header": func(t *testing.T, fs vfs.FS) {
			truncateFile(t, fs, snapPath(5), 20)
		},
		"empty":                    func(t *testing.T, fs vfs.FS) { truncateFile(t, fs, snapPath(5), 0) },
		"header of another offset": func(t *testing.T, fs vfs.FS) { flipHeaderOffset(t, fs, snapPath(5)) },
	} {
		t.Run(name, func(t *testing.T) {
			fs := withSnapshot(t, content)
			damage(t, fs)
			requireCorruptSnapshot(t, fs)
		})
	}
}

// truncateFile cuts the file at path to n bytes.
func truncateFile(t *testing.T, fs vfs.FS, path string, n int64) {
	t.Helper()
	f, err := fs.Open(path)
	require.NoError(t, err)
	b := make([]byte, n)
	_, err = io.ReadFull(f, b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	w, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())
}

// flipHeaderOffset rewrites the header of the snapshot file at path with
// offset 4 and a valid checksum.
func flipHeaderOffset(t *testing.T, fs vfs.FS, path string) {
	t.Helper()
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	head := make([]byte, snapHeaderLen)
	_, err = f.ReadAt(head, 0)
	require.NoError(t, err)
	h, err := decodeSnapHeader(head)
	require.NoError(t, err)
	h.offset = 4
	_, err = f.WriteAt(appendSnapHeader(nil, h), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestSnapshotOpenRemovesLeftovers(t *testing.T) {
	content := []byte("the newest")
	fs := withSnapshot(t, content)
	dir := "/db/" + snapDirName
	// An interrupted save, an older snapshot a crash kept beside the newest
	// and a file that is none of the store's.
	for _, name := range []string{snapName(9) + snapTmpSufix, "other"} {
		f, err := fs.Create(dir+"/"+name, vfs.WriteCategoryUnspecified)
		require.NoError(t, err)
		_, err = f.Write([]byte("leftover"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	require.NoError(t, vfs.Copy(fs, snapPath(5), snapPath(3)))

	s := openMem(t, fs)
	defer func() { require.NoError(t, s.Close()) }()
	requireSnapContent(t, s, chain.SnapshotInfo{Offset: 5, Epoch: 2, Size: int64(len(content))}, content, "reopened")
	names, err := fs.List(dir)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{snapName(5), "other"}, names)
}

func TestSnapshotOlderKeptWhileNewestIsDamaged(t *testing.T) {
	fs := withSnapshot(t, []byte("older"))
	require.NoError(t, vfs.Copy(fs, snapPath(5), snapPath(8)))
	// A copy under another offset's name fails the header's offset check.
	s := openMem(t, fs)
	_, _, err := s.LatestSnapshot()
	require.ErrorIs(t, err, chain.ErrCorrupt)
	require.NoError(t, s.Close())
	_, err = fs.Stat(snapPath(5))
	require.NoError(t, err, "the older snapshot is kept while the newest is damaged")
}

func TestSnapshotCloseAbortsTheWriter(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)
	w, err := s.CreateSnapshot(9, 1)
	require.NoError(t, err)
	_, err = w.Write(snapBytes(1, 200000))
	require.NoError(t, err)
	_, err = fs.Stat(snapPath(9) + snapTmpSufix)
	require.NoError(t, err, "the temporary file exists while writing")
	require.NoError(t, s.Close())
	names, err := fs.List("/db/" + snapDirName)
	require.NoError(t, err)
	require.Empty(t, names, "Close removed the temporary file")
	require.ErrorIs(t, w.Commit(), chain.ErrClosed)
}

// TestSnapshotMemoryIsBounded writes and reads a 64 MiB snapshot on the
// operating system's file system: the heap allocated meanwhile stays
// within a few blocks, far below the snapshot's size.
func TestSnapshotMemoryIsBounded(t *testing.T) {
	const size, chunk = 64 << 20, 32 << 10
	s, err := Open(t.TempDir(), WithLogger(quietLogger()))
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	buf := snapBytes(1, chunk)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w, err := s.CreateSnapshot(1, 1)
	require.NoError(t, err)
	for range size / chunk {
		_, err := w.Write(buf)
		require.NoError(t, err)
	}
	require.NoError(t, w.Commit())
	r, err := s.OpenSnapshot()
	require.NoError(t, err)
	n, err := io.CopyBuffer(io.Discard, r, buf)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	runtime.ReadMemStats(&after)

	require.Equal(t, int64(size), n)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20),
		"bytes allocated to write and read a %d-byte snapshot", size)
}
