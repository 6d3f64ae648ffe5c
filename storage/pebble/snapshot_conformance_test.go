package pebble

import (
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/storagetest"
)

// snapshotHarness opens storages for storagetest.RunSnapshots and
// remembers where each one lives, so that it can reopen and damage it.
type snapshotHarness struct {
	// place returns a directory and the options of a new storage.
	place func(t *testing.T) (string, []Option)

	mu     sync.Mutex
	opened map[*Storage]storagePlace
}

type storagePlace struct {
	dir  string
	fs   vfs.FS
	opts []Option
}

func (h *snapshotHarness) open(t *testing.T, p storagePlace) *Storage {
	t.Helper()
	s, err := Open(p.dir, p.opts...)
	require.NoError(t, err)
	h.mu.Lock()
	h.opened[s] = p
	h.mu.Unlock()
	return s
}

func (h *snapshotHarness) placeOf(s chain.Storage) storagePlace {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opened[s.(*Storage)]
}

func (h *snapshotHarness) suite() storagetest.Snapshots {
	return storagetest.Snapshots{
		Open: func(t *testing.T) chain.Storage {
			dir, opts := h.place(t)
			fs := vfs.Default
			if len(opts) > 0 {
				var c config
				for _, o := range opts {
					o(&c)
				}
				fs = c.fs
			}
			return h.open(t, storagePlace{dir: dir, fs: fs, opts: opts})
		},
		Reopen: func(t *testing.T, s chain.Storage) chain.Storage {
			p := h.placeOf(s)
			require.NoError(t, s.Close())
			return h.open(t, p)
		},
		Corrupt: func(t *testing.T, s chain.Storage, pos int64) {
			p := h.placeOf(s)
			flipSnapshotByte(t, p.fs, p.dir, s.(*Storage).snaps.latest.name, pos)
		},
	}
}

// flipSnapshotByte flips a bit of the content byte at pos in the snapshot
// file name of the storage in dir.
func flipSnapshotByte(t *testing.T, fs vfs.FS, dir, name string, pos int64) {
	t.Helper()
	at := snapHeaderLen + (pos/defaultBlockSize)*(snapBlockCRCLen+defaultBlockSize) + snapBlockCRCLen + pos%defaultBlockSize
	flipFileByte(t, fs, fs.PathJoin(dir, snapDirName, name), at)
}

// flipFileByte flips a bit of the byte at file offset at of path.
func flipFileByte(t *testing.T, fs vfs.FS, path string, at int64) {
	t.Helper()
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	b := make([]byte, 1)
	_, err = f.ReadAt(b, at)
	require.NoError(t, err)
	b[0] ^= 0x04
	_, err = f.WriteAt(b, at)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

func TestSnapshotConformanceOnDisk(t *testing.T) {
	h := &snapshotHarness{
		opened: make(map[*Storage]storagePlace),
		place:  func(t *testing.T) (string, []Option) { return t.TempDir(), nil },
	}
	storagetest.RunSnapshots(t, h.suite())
}

func TestSnapshotConformanceInMemoryFS(t *testing.T) {
	h := &snapshotHarness{
		opened: make(map[*Storage]storagePlace),
		place: func(t *testing.T) (string, []Option) {
			return "/db", []Option{WithFS(vfs.NewMem()), WithLogger(quietLogger())}
		},
	}
	storagetest.RunSnapshots(t, h.suite())
}
