package pebble

import (
	"fmt"
	"testing"

	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/storagetest"
)

// withRawDB opens the Pebble database at dir in fs directly and runs f on
// it, as a disk fault or a stray writer would change it.
func withRawDB(t *testing.T, fs vfs.FS, dir string, f func(db *pebbledb.DB)) {
	t.Helper()
	db, err := pebbledb.Open(dir, &pebbledb.Options{FS: fs, Logger: pebbleLogger{log: quietLogger(), failure: &failure{}}})
	require.NoError(t, err)
	f(db)
	require.NoError(t, db.Close())
}

// rawGet returns a copy of the value stored under key.
func rawGet(t *testing.T, db *pebbledb.DB, key []byte) []byte {
	t.Helper()
	v, closer, err := db.Get(key)
	require.NoError(t, err)
	v = append([]byte{}, v...)
	require.NoError(t, closer.Close())
	return v
}

// newLog returns a file system holding a storage at /db with entries 1
// to 10 and metadata "commit".
func newLog(t *testing.T) vfs.FS {
	t.Helper()
	fs := vfs.NewMem()
	s, err := Open("/db", WithFS(fs))
	require.NoError(t, err)
	require.NoError(t, s.Append(entriesAt(1, 10)))
	require.NoError(t, s.SetMeta("commit", []byte("7")))
	require.NoError(t, s.Close())
	return fs
}

func TestCorruptEntryIsReportedWithItsOffset(t *testing.T) {
	corruptions := map[string]func(t *testing.T, db *pebbledb.DB){
		"flipped data bit": func(t *testing.T, db *pebbledb.DB) {
			v := rawGet(t, db, entryKey(5))
			v[len(v)-1] ^= 0x10
			require.NoError(t, db.Set(entryKey(5), v, pebbledb.Sync))
		},
		"flipped checksum bit": func(t *testing.T, db *pebbledb.DB) {
			v := rawGet(t, db, entryKey(5))
			v[0] ^= 1
			require.NoError(t, db.Set(entryKey(5), v, pebbledb.Sync))
		},
		"garbage": func(t *testing.T, db *pebbledb.DB) {
			require.NoError(t, db.Set(entryKey(5), []byte("not an entry"), pebbledb.Sync))
		},
		"empty": func(t *testing.T, db *pebbledb.DB) {
			require.NoError(t, db.Set(entryKey(5), nil, pebbledb.Sync))
		},
		"truncated": func(t *testing.T, db *pebbledb.DB) {
			v := rawGet(t, db, entryKey(5))
			require.NoError(t, db.Set(entryKey(5), v[:len(v)-1], pebbledb.Sync))
		},
		"another offset's record": func(t *testing.T, db *pebbledb.DB) {
			require.NoError(t, db.Set(entryKey(5), rawGet(t, db, entryKey(4)), pebbledb.Sync))
		},
		"unknown version with a valid checksum": func(t *testing.T, db *pebbledb.DB) {
			v := rawGet(t, db, entryKey(5))
			v[crcLen] = stampedEntryVersion + 1
			require.NoError(t, db.Set(entryKey(5), seal(v), pebbledb.Sync))
		},
		"missing": func(t *testing.T, db *pebbledb.DB) {
			require.NoError(t, db.Delete(entryKey(5), pebbledb.Sync))
		},
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			fs := newLog(t)
			withRawDB(t, fs, "/db", func(db *pebbledb.DB) { corrupt(t, db) })
			s, err := Open("/db", WithFS(fs))
			require.NoError(t, err, "only the first and last entries are checked on open")
			defer s.Close()
			for _, r := range [][2]uint64{{1, 11}, {5, 6}, {4, 7}} {
				got, err := s.Entries(r[0], r[1], 1<<20)
				require.ErrorIs(t, err, ErrCorrupt, "Entries(%d, %d)", r[0], r[1])
				require.ErrorContains(t, err, "entry at offset 5")
				require.Nil(t, got)
			}
			// The intact entries around it stay readable.
			got, err := s.Entries(1, 5, 1<<20)
			require.NoError(t, err)
			require.Equal(t, entriesAt(1, 4), got)
			got, err = s.Entries(6, 11, 1<<20)
			require.NoError(t, err)
			require.Equal(t, entriesAt(6, 5), got)
			// A read that stops before it never looks at it.
			got, err = s.Entries(4, 11, 1)
			require.NoError(t, err)
			require.Equal(t, entriesAt(4, 1), got)
		})
	}
}

func TestOpenFailsOnCorruptLastOrFirstEntry(t *testing.T) {
	for _, off := range []uint64{1, 10} {
		fs := newLog(t)
		withRawDB(t, fs, "/db", func(db *pebbledb.DB) {
			v := rawGet(t, db, entryKey(off))
			v[len(v)-1] ^= 0xff
			require.NoError(t, db.Set(entryKey(off), v, pebbledb.Sync))
		})
		s, err := Open("/db", WithFS(fs))
		require.ErrorIs(t, err, ErrCorrupt, "entry %d", off)
		require.ErrorContains(t, err, fmt.Sprintf("entry at offset %d:", off))
		require.Nil(t, s)
	}
}

func TestOpenFailsOnInconsistentLog(t *testing.T) {
	t.Run("entry below the first offset", func(t *testing.T) {
		fs := newLog(t)
		withRawDB(t, fs, "/db", func(db *pebbledb.DB) {
			require.NoError(t, db.Set([]byte(firstOffsetKey), appendFirstOffset(nil, 3), pebbledb.Sync))
		})
		_, err := Open("/db", WithFS(fs))
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "lowest entry is at offset 1, but the first offset is 3")
	})
	t.Run("corrupt first offset", func(t *testing.T) {
		fs := newLog(t)
		withRawDB(t, fs, "/db", func(db *pebbledb.DB) {
			rec := appendFirstOffset(nil, 1)
			rec[len(rec)-1] ^= 2
			require.NoError(t, db.Set([]byte(firstOffsetKey), rec, pebbledb.Sync))
		})
		_, err := Open("/db", WithFS(fs))
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "first offset")
	})
	t.Run("malformed entry key", func(t *testing.T) {
		fs := newLog(t)
		withRawDB(t, fs, "/db", func(db *pebbledb.DB) {
			require.NoError(t, db.Set(append(entryKey(11), 0), []byte("x"), pebbledb.Sync))
		})
		_, err := Open("/db", WithFS(fs))
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "malformed entry key")
	})
}

func TestCorruptMetaIsReportedWithItsKey(t *testing.T) {
	fs := newLog(t)
	withRawDB(t, fs, "/db/"+metaDir, func(db *pebbledb.DB) {
		v := rawGet(t, db, metaKey("commit"))
		v[len(v)-1] ^= 1
		require.NoError(t, db.Set(metaKey("commit"), v, pebbledb.Sync))
	})
	s, err := Open("/db", WithFS(fs))
	require.NoError(t, err)
	defer s.Close()
	v, ok, err := s.Meta("commit")
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, `meta "commit"`)
	require.False(t, ok)
	require.Nil(t, v)
	// Setting it again repairs it.
	require.NoError(t, s.SetMeta("commit", []byte("8")))
	v, ok, err = s.Meta("commit")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "8", string(v))
}

func TestMethodsAfterClose(t *testing.T) {
	s, err := Open("/db", WithFS(vfs.NewMem()))
	require.NoError(t, err)
	require.NoError(t, s.Append(entriesAt(1, 2)))
	require.NoError(t, s.Close())
	storagetest.RequireClosed(t, s)
	require.Equal(t, uint64(1), s.FirstOffset())
	require.Equal(t, uint64(2), s.LastOffset())
	require.Equal(t, uint64(2), s.Stats().EntriesAppended)
}

func TestOpenRejectsBadOptions(t *testing.T) {
	_, err := Open("/db", WithFS(nil))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
	_, err = Open("/db", WithFS(vfs.NewMem()), WithCacheSize(-1))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
	_, err = Open("", WithFS(vfs.NewMem()))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)

	s, err := Open("/db", WithFS(vfs.NewMem()), WithCacheSize(0), nil)
	require.NoError(t, err, "no block cache, and a nil option is ignored")
	require.NoError(t, s.Append(entriesAt(1, 3)))
	require.NoError(t, s.Close())
}

func TestSetMetaRejectsEmptyKey(t *testing.T) {
	s, err := Open("/db", WithFS(vfs.NewMem()))
	require.NoError(t, err)
	defer s.Close()
	require.ErrorIs(t, s.SetMeta("", []byte("x")), chain.ErrInvalidArgument)
}

func TestOpenTwiceFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	defer s.Close()
	_, err = Open(dir)
	require.Error(t, err, "the directory is locked")
}
