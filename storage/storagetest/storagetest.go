// Package storagetest checks a chain.Storage implementation against the
// contract documented on chain.Storage.
//
// Call Run from a test of the implementation's package, giving it a
// function that opens a fresh, empty storage:
//
//	func TestStorage(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) chain.Storage {
//			s, err := disk.Open(t.TempDir())
//			require.NoError(t, err)
//			return s
//		})
//	}
//
// The suite closes every storage it opens, through t.Cleanup, so cleanups
// that open registers (such as t.TempDir's) run after Close. Run the suite
// with -race: one subtest reads from several goroutines while another
// appends. RunBenchmarks takes the same kind of open function.
//
// RunSnapshots checks a storage that also implements chain.SnapshotStore;
// it takes a Snapshots, which says how to open, reopen and damage one.
//
// The suite compares entries' and metadata values' bytes, not their
// nil-ness: an implementation may return a nil Data for an entry appended
// with an empty one, and the reverse.
package storagetest

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// Run runs the conformance suite as subtests of t. open must return a
// new, empty storage each time it is called; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) chain.Storage) {
	t.Helper()
	fresh := closedAtEnd(open)
	t.Run("New", func(t *testing.T) { testNew(t, fresh(t)) })
	t.Run("Append", func(t *testing.T) { testAppend(t, fresh) })
	t.Run("Entries", func(t *testing.T) { testEntries(t, fresh) })
	t.Run("TruncateSuffix", func(t *testing.T) { testTruncateSuffix(t, fresh) })
	t.Run("TruncatePrefix", func(t *testing.T) { testTruncatePrefix(t, fresh) })
	t.Run("Meta", func(t *testing.T) { testMeta(t, fresh) })
	t.Run("ConcurrentReadersDuringAppends", func(t *testing.T) { testConcurrent(t, fresh(t)) })
	t.Run("LargeLogPagedRead", func(t *testing.T) { testLarge(t, fresh(t)) })
}

// RequireClosed checks that every method of s that can fail returns
// chain.ErrClosed, as it must once s is closed (Close included), whatever
// it held.
func RequireClosed(t *testing.T, s chain.Storage) {
	t.Helper()
	require.ErrorIs(t, s.Append([]chain.Entry{{Offset: 3, Epoch: 1}}), chain.ErrClosed)
	require.ErrorIs(t, s.Append(nil), chain.ErrClosed)
	_, err := s.Entries(1, 3, 1<<20)
	require.ErrorIs(t, err, chain.ErrClosed)
	require.ErrorIs(t, s.TruncateSuffix(2), chain.ErrClosed)
	require.ErrorIs(t, s.TruncatePrefix(2), chain.ErrClosed)
	require.ErrorIs(t, s.SetMeta("epoch", []byte("2")), chain.ErrClosed)
	_, ok, err := s.Meta("epoch")
	require.ErrorIs(t, err, chain.ErrClosed)
	require.False(t, ok)
	require.ErrorIs(t, s.Close(), chain.ErrClosed)
}

// closedAtEnd wraps open: each storage it opens is checked not nil and is
// closed, without error, when the test or benchmark that opened it ends.
func closedAtEnd[T testing.TB](open func(T) chain.Storage) func(T) chain.Storage {
	return func(tb T) chain.Storage {
		tb.Helper()
		s := open(tb)
		require.NotNil(tb, s, "open returned a nil storage")
		tb.Cleanup(func() { require.NoError(tb, s.Close(), "Close") })
		return s
	}
}

// opener opens a fresh storage that is closed when the test ends.
type opener = func(t *testing.T) chain.Storage

// noLimit is a maxBytes that never stops a read early.
const noLimit = math.MaxInt

func testNew(t *testing.T, s chain.Storage) {
	requireLog(t, s, 1, nil)
	_, ok, err := s.Meta("epoch")
	require.NoError(t, err)
	require.False(t, ok, "new storage has metadata")
}

// makeEntry returns a deterministic entry for offset off. Its fields vary
// with off so that mixed-up entries are told apart.
func makeEntry(off uint64) chain.Entry {
	return chain.Entry{
		Offset:  off,
		Epoch:   off/10 + 1,
		Client:  fmt.Sprintf("client-%d", off%3),
		Session: off * 11,
		Seq:     off * 7,
		Acked:   off * 3,
		Command: []string{"", "put", "delete"}[off%3],
		Data:    bytes.Repeat([]byte{byte(off)}, int(off%17)+1),
	}
}

// makeEntries returns n entries made by makeEntry starting at offset from.
func makeEntries(from uint64, n int) []chain.Entry {
	es := make([]chain.Entry, n)
	for i := range es {
		es[i] = makeEntry(from + uint64(i))
	}
	return es
}

// appendN appends n entries made by makeEntry at the end of the log and
// returns them.
func appendN(t *testing.T, s chain.Storage, n int) []chain.Entry {
	t.Helper()
	es := makeEntries(s.LastOffset()+1, n)
	require.NoError(t, s.Append(es))
	return es
}

// requireLog checks that s holds exactly want, starting at offset first
// (want may be empty), and that reads just outside that range fail.
func requireLog(t *testing.T, s chain.Storage, first uint64, want []chain.Entry) {
	t.Helper()
	last := first + uint64(len(want)) - 1
	require.Equal(t, first, s.FirstOffset(), "FirstOffset")
	require.Equal(t, last, s.LastOffset(), "LastOffset")
	got, err := s.Entries(first, last+1, noLimit)
	require.NoError(t, err, "Entries(%d, %d)", first, last+1)
	requireEntries(t, want, got)
	if first > 0 {
		_, err = s.Entries(first-1, last+1, noLimit)
		require.ErrorIs(t, err, chain.ErrOutOfRange, "Entries(%d, %d) below FirstOffset", first-1, last+1)
	}
	_, err = s.Entries(first, last+2, noLimit)
	require.ErrorIs(t, err, chain.ErrOutOfRange, "Entries(%d, %d) beyond LastOffset+1", first, last+2)
}

// requireEntries checks that got equals want field by field, treating nil
// and empty Data alike.
func requireEntries(t *testing.T, want, got []chain.Entry, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, normalize(want), normalize(got), msgAndArgs...)
}

// normalize returns a copy of es with empty Data set to nil, and an empty
// non-nil slice when es is empty.
func normalize(es []chain.Entry) []chain.Entry {
	out := make([]chain.Entry, len(es))
	for i, e := range es {
		if len(e.Data) == 0 {
			e.Data = nil
		}
		out[i] = e
	}
	return out
}

// totalSize returns the sum of the entries' Size().
func totalSize(es []chain.Entry) int {
	n := 0
	for i := range es {
		n += es[i].Size()
	}
	return n
}

// limit returns what Entries must return for the entries in range held
// and maxBytes: the shortest prefix whose total Size() reaches maxBytes,
// but at least one entry, or all of them.
func limit(held []chain.Entry, maxBytes int) []chain.Entry {
	total := 0
	for i := range held {
		if total += held[i].Size(); total >= maxBytes {
			return held[:i+1]
		}
	}
	return held
}
