package pebble

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
)

// reopen closes s and opens the storage in the same directory again.
func reopen(t *testing.T, s *Storage, dir string, opts ...Option) *Storage {
	t.Helper()
	require.NoError(t, s.Close())
	s, err := Open(dir, opts...)
	require.NoError(t, err, "reopen")
	return s
}

// requireSame checks that got holds exactly what the reference want holds:
// bounds, entries and the values of metaKeys.
func requireSame(t *testing.T, want chain.Storage, got *Storage, metaKeys []string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.FirstOffset(), got.FirstOffset(), msgAndArgs...)
	require.Equal(t, want.LastOffset(), got.LastOffset(), msgAndArgs...)
	wantEs, err := want.Entries(want.FirstOffset(), want.LastOffset()+1, math.MaxInt)
	require.NoError(t, err)
	gotEs, err := got.Entries(got.FirstOffset(), got.LastOffset()+1, math.MaxInt)
	require.NoError(t, err, msgAndArgs...)
	require.Equal(t, len(wantEs), len(gotEs), msgAndArgs...)
	for i := range wantEs {
		requireEntryEqual(t, wantEs[i], gotEs[i], msgAndArgs...)
	}
	for _, k := range metaKeys {
		wv, wok, err := want.Meta(k)
		require.NoError(t, err)
		gv, gok, err := got.Meta(k)
		require.NoError(t, err, msgAndArgs...)
		require.Equal(t, wok, gok, append([]any{"meta %q present"}, k))
		require.Equal(t, string(wv), string(gv), "meta %q", k)
	}
}

// requireEntryEqual compares entries, treating nil and empty Data alike.
func requireEntryEqual(t *testing.T, want, got chain.Entry, msgAndArgs ...any) {
	t.Helper()
	if len(want.Data) == 0 {
		want.Data = nil
	}
	if len(got.Data) == 0 {
		got.Data = nil
	}
	require.Equal(t, want, got, msgAndArgs...)
}

func TestReopenAfterEachKindOfOperation(t *testing.T) {
	type step struct {
		name string
		do   func(s chain.Storage) error
	}
	steps := []step{
		{"new", func(chain.Storage) error { return nil }},
		{"append", func(s chain.Storage) error { return s.Append(entriesAt(s.LastOffset()+1, 20)) }},
		{"set meta", func(s chain.Storage) error { return s.SetMeta("commit", []byte("7")) }},
		{"set empty meta", func(s chain.Storage) error { return s.SetMeta("epoch", nil) }},
		{"truncate suffix", func(s chain.Storage) error { return s.TruncateSuffix(15) }},
		{"append after truncate suffix", func(s chain.Storage) error { return s.Append(entriesAt(15, 3)) }},
		{"truncate prefix", func(s chain.Storage) error { return s.TruncatePrefix(5) }},
		{"overwrite meta", func(s chain.Storage) error { return s.SetMeta("commit", []byte("12")) }},
		{"truncate suffix to empty", func(s chain.Storage) error { return s.TruncateSuffix(s.FirstOffset()) }},
		{"append to empty", func(s chain.Storage) error { return s.Append(entriesAt(s.LastOffset()+1, 4)) }},
		{"truncate prefix to empty", func(s chain.Storage) error { return s.TruncatePrefix(s.LastOffset() + 1) }},
		{"truncate prefix beyond the end", func(s chain.Storage) error { return s.TruncatePrefix(100) }},
		{"append after the gap", func(s chain.Storage) error { return s.Append(entriesAt(100, 2)) }},
		{"truncate prefix at first (no-op)", func(s chain.Storage) error { return s.TruncatePrefix(100) }},
		{"truncate suffix at next (no-op)", func(s chain.Storage) error { return s.TruncateSuffix(102) }},
	}
	fs := vfs.NewMem()
	s, err := Open("/db", WithFS(fs))
	require.NoError(t, err)
	want := memory.New()
	defer want.Close()
	for _, st := range steps {
		require.NoError(t, st.do(want), st.name)
		require.NoError(t, st.do(s), st.name)
		requireSame(t, want, s, []string{"commit", "epoch"}, "before reopening after %s", st.name)
		s = reopen(t, s, "/db", WithFS(fs))
		requireSame(t, want, s, []string{"commit", "epoch"}, "after reopening after %s", st.name)
	}
	require.NoError(t, s.Close())
}

func TestReopenTruncatedToEmpty(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Append(entriesAt(1, 10)))
	require.NoError(t, s.TruncatePrefix(11))
	s = reopen(t, s, dir)
	require.Equal(t, uint64(11), s.FirstOffset())
	require.Equal(t, uint64(10), s.LastOffset())
	require.NoError(t, s.TruncatePrefix(50))
	s = reopen(t, s, dir)
	require.Equal(t, uint64(50), s.FirstOffset())
	require.Equal(t, uint64(49), s.LastOffset())
	require.ErrorIs(t, s.Append(entriesAt(11, 1)), chain.ErrNotDense)
	require.NoError(t, s.Append(entriesAt(50, 1)))
	require.NoError(t, s.Close())
}

// TestReopenRandomOperations runs random operations on a Storage and on
// the in-memory reference, reopening the Storage now and then.
func TestReopenRandomOperations(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	fs := vfs.NewMem()
	s, err := Open("/db", WithFS(fs), withMemTableSize(64<<10))
	require.NoError(t, err)
	want := memory.New()
	defer want.Close()
	keys := []string{"commit", "epoch", "config"}
	for i := range 300 {
		var name string
		var do func(chain.Storage) error
		switch r := rng.IntN(100); {
		case r < 60:
			n := 1 + rng.IntN(50)
			name = fmt.Sprintf("append %d", n)
			do = func(s chain.Storage) error { return s.Append(entriesAt(s.LastOffset()+1, n)) }
		case r < 70:
			from := want.FirstOffset() + rng.Uint64N(want.LastOffset()-want.FirstOffset()+2)
			name = fmt.Sprintf("truncate suffix %d", from)
			do = func(s chain.Storage) error { return s.TruncateSuffix(from) }
		case r < 80:
			before := want.FirstOffset() + rng.Uint64N(want.LastOffset()-want.FirstOffset()+10)
			name = fmt.Sprintf("truncate prefix %d", before)
			do = func(s chain.Storage) error { return s.TruncatePrefix(before) }
		default:
			k, v := keys[rng.IntN(len(keys))], fmt.Sprint(i)
			name = fmt.Sprintf("set meta %s=%s", k, v)
			do = func(s chain.Storage) error { return s.SetMeta(k, []byte(v)) }
		}
		require.NoError(t, do(want), name)
		require.NoError(t, do(s), name)
		if rng.IntN(10) == 0 {
			s = reopen(t, s, "/db", WithFS(fs), withMemTableSize(64<<10))
		}
		requireSame(t, want, s, keys, "step %d: %s (seed %d)", i, name, seed)
	}
	require.NoError(t, s.Close())
}
