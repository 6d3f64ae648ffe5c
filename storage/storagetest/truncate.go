package storagetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// requireEmptyAt checks that s holds no entry and that appends go on
// densely from offset next.
func requireEmptyAt(t *testing.T, s chain.Storage, next uint64) {
	t.Helper()
	requireLog(t, s, next, nil)
	requireLog(t, s, next, appendN(t, s, 2))
}

func testTruncateSuffix(t *testing.T, fresh opener) {
	t.Run("Middle", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 10)
		require.NoError(t, s.TruncateSuffix(6))
		requireLog(t, s, 1, want[:5])
	})
	t.Run("ToFirstEmptiesLog", func(t *testing.T) {
		s := fresh(t)
		appendN(t, s, 10)
		require.NoError(t, s.TruncateSuffix(1))
		requireEmptyAt(t, s, 1)
	})
	t.Run("AtNextIsNoOp", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.TruncateSuffix(1), "on a new storage")
		requireLog(t, s, 1, nil)
		want := appendN(t, s, 10)
		require.NoError(t, s.TruncateSuffix(11))
		requireLog(t, s, 1, want)
	})
	t.Run("OutOfRange", func(t *testing.T) {
		s := fresh(t)
		for _, from := range []uint64{0, 2, 100} {
			require.ErrorIs(t, s.TruncateSuffix(from), chain.ErrOutOfRange, "TruncateSuffix(%d) of a new storage", from)
			requireLog(t, s, 1, nil)
		}
		want := appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(4)) // holds [4, 10]
		for _, from := range []uint64{0, 1, 3, 12, 100} {
			require.ErrorIs(t, s.TruncateSuffix(from), chain.ErrOutOfRange, "TruncateSuffix(%d) of [4, 10]", from)
			requireLog(t, s, 4, want[3:])
		}
	})
	t.Run("AppendsContinueDensely", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 10)[:5]
		require.NoError(t, s.TruncateSuffix(6))
		require.ErrorIs(t, s.Append(makeEntries(7, 1)), chain.ErrNotDense, "append past the truncation point")
		require.ErrorIs(t, s.Append(makeEntries(11, 1)), chain.ErrNotDense, "append at the old end")
		replaced := makeEntries(6, 3)
		for i := range replaced {
			replaced[i].Epoch += 100
			replaced[i].Data = []byte("replacement")
		}
		require.NoError(t, s.Append(replaced))
		requireLog(t, s, 1, append(want, replaced...))
	})
	t.Run("AfterTruncatePrefix", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(4))
		require.NoError(t, s.TruncateSuffix(8))
		requireLog(t, s, 4, want[3:7])
		require.NoError(t, s.TruncateSuffix(4))
		requireEmptyAt(t, s, 4)
	})
}

func testTruncatePrefix(t *testing.T, fresh opener) {
	t.Run("Middle", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(4))
		requireLog(t, s, 4, want[3:])
		want = append(want, appendN(t, s, 3)...)
		requireLog(t, s, 4, want[3:])
	})
	t.Run("StepByStep", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 10)
		for before := uint64(2); before <= 11; before++ {
			require.NoError(t, s.TruncatePrefix(before))
			requireLog(t, s, before, want[before-1:])
		}
	})
	t.Run("AtOrBelowFirstIsNoOp", func(t *testing.T) {
		s := fresh(t)
		for _, before := range []uint64{0, 1} {
			require.NoError(t, s.TruncatePrefix(before), "TruncatePrefix(%d) of a new storage", before)
			requireLog(t, s, 1, nil)
		}
		want := appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(4))
		for _, before := range []uint64{0, 1, 3, 4} {
			require.NoError(t, s.TruncatePrefix(before), "TruncatePrefix(%d) of [4, 10]", before)
			requireLog(t, s, 4, want[3:])
		}
	})
	t.Run("AtNextEmptiesLog", func(t *testing.T) {
		s := fresh(t)
		appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(11))
		requireEmptyAt(t, s, 11)
	})
	t.Run("BeyondNextEmptiesLog", func(t *testing.T) {
		s := fresh(t)
		appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(20))
		requireLog(t, s, 20, nil)
		require.ErrorIs(t, s.Append(makeEntries(11, 1)), chain.ErrNotDense, "append at the old end")
		requireLog(t, s, 20, nil)
		want := makeEntries(20, 3)
		require.NoError(t, s.Append(want))
		requireLog(t, s, 20, want)
	})
	t.Run("BeyondNextOnNew", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.TruncatePrefix(5))
		requireEmptyAt(t, s, 5)
	})
	t.Run("ReadTruncatedFails", func(t *testing.T) {
		s := fresh(t)
		appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(6))
		for from := uint64(1); from < 6; from++ {
			_, err := s.Entries(from, from+1, noLimit)
			require.ErrorIs(t, err, chain.ErrOutOfRange, "Entries(%d, %d) after TruncatePrefix(6)", from, from+1)
			_, err = s.Entries(from, 11, noLimit)
			require.ErrorIs(t, err, chain.ErrOutOfRange, "Entries(%d, 11) after TruncatePrefix(6)", from)
		}
	})
}
