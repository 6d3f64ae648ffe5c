package storagetest

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func testAppend(t *testing.T, fresh opener) {
	t.Run("Dense", func(t *testing.T) {
		s := fresh(t)
		var want []chain.Entry
		for _, n := range []int{1, 3, 1, 10} {
			want = append(want, appendN(t, s, n)...)
			requireLog(t, s, 1, want)
		}
	})
	for _, tc := range []struct {
		name string
		held int      // entries appended first
		offs []uint64 // first offsets of batches that must be refused
	}{
		{"WrongFirstOffsetOnNew", 0, []uint64{0, 2, 100}},
		{"WrongFirstOffset", 3, []uint64{0, 1, 3, 5, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t)
			var want []chain.Entry
			if tc.held > 0 {
				want = appendN(t, s, tc.held)
			}
			for _, off := range tc.offs {
				err := s.Append(makeEntries(off, 2))
				require.ErrorIs(t, err, chain.ErrNotDense, "Append at %d after LastOffset %d", off, tc.held)
				requireLog(t, s, 1, want)
			}
		})
	}
	t.Run("GapInsideBatch", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 3)
		batches := map[string][]chain.Entry{
			"gap":        {makeEntry(4), makeEntry(6)},
			"repeat":     {makeEntry(4), makeEntry(4)},
			"backwards":  {makeEntry(4), makeEntry(5), makeEntry(3)},
			"gap at end": append(makeEntries(4, 10), makeEntry(15)),
		}
		for name, batch := range batches {
			require.ErrorIs(t, s.Append(batch), chain.ErrNotDense, name)
			requireLog(t, s, 1, want)
		}
	})
	t.Run("EmptyBatchIsNoOp", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.Append(nil))
		require.NoError(t, s.Append([]chain.Entry{}))
		requireLog(t, s, 1, nil)
		want := appendN(t, s, 2)
		require.NoError(t, s.Append(nil))
		require.NoError(t, s.Append([]chain.Entry{}))
		requireLog(t, s, 1, want)
	})
	t.Run("DoesNotRetainEntries", func(t *testing.T) {
		s := fresh(t)
		batch := makeEntries(1, 5)
		require.NoError(t, s.Append(batch))
		for i := range batch {
			for j := range batch[i].Data {
				batch[i].Data[j] ^= 0xff
			}
			batch[i].Data = append(batch[i].Data, "more"...)
			batch[i].Offset += 100
			batch[i].Client = "someone else"
		}
		requireLog(t, s, 1, makeEntries(1, 5))
	})
	t.Run("DoesNotRetainSharedBuffer", func(t *testing.T) {
		// Decoded batches often slice every Data out of one buffer.
		s := fresh(t)
		buf := []byte("aaaabbbbcccc")
		batch := []chain.Entry{{Offset: 1, Data: buf[0:4]}, {Offset: 2, Data: buf[4:8]}, {Offset: 3, Data: buf[8:12]}}
		require.NoError(t, s.Append(batch))
		copy(buf, "xxxxxxxxxxxx")
		requireLog(t, s, 1, []chain.Entry{
			{Offset: 1, Data: []byte("aaaa")}, {Offset: 2, Data: []byte("bbbb")}, {Offset: 3, Data: []byte("cccc")},
		})
	})
}

func testEntries(t *testing.T, fresh opener) {
	t.Run("Range", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 10)
		for from := uint64(1); from <= 11; from++ {
			for to := from; to <= 11; to++ {
				got, err := s.Entries(from, to, noLimit)
				require.NoError(t, err, "Entries(%d, %d)", from, to)
				requireEntries(t, want[from-1:to-1], got, "Entries(%d, %d)", from, to)
			}
		}
	})
	t.Run("EmptyRangeOnNew", func(t *testing.T) {
		got, err := fresh(t).Entries(1, 1, noLimit)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("MaxBytes", func(t *testing.T) {
		s := fresh(t)
		held := appendN(t, s, 10) // entries of differing sizes
		for from := uint64(1); from <= 10; from++ {
			for to := from + 1; to <= 11; to++ {
				inRange := held[from-1 : to-1]
				for _, maxBytes := range maxBytesCases(inRange) {
					got, err := s.Entries(from, to, maxBytes)
					require.NoError(t, err, "Entries(%d, %d, %d)", from, to, maxBytes)
					requireEntries(t, limit(inRange, maxBytes), got, "Entries(%d, %d, %d)", from, to, maxBytes)
				}
			}
		}
	})
	t.Run("MaxBytesNotPositive", func(t *testing.T) {
		// The contract does not say whether such a maxBytes means "no limit"
		// or "the minimum"; either way it returns a non-empty prefix.
		s := fresh(t)
		want := appendN(t, s, 5)
		for _, maxBytes := range []int{0, -1, math.MinInt} {
			got, err := s.Entries(2, 5, maxBytes)
			require.NoError(t, err, "maxBytes %d", maxBytes)
			require.NotEmpty(t, got, "maxBytes %d", maxBytes)
			require.LessOrEqual(t, len(got), 3, "maxBytes %d", maxBytes)
			requireEntries(t, want[1:1+len(got)], got, "maxBytes %d", maxBytes)
		}
	})
	t.Run("OutOfRange", func(t *testing.T) {
		s := fresh(t)
		appendN(t, s, 10)
		require.NoError(t, s.TruncatePrefix(4)) // holds [4, 10]
		for _, r := range [][2]uint64{
			{0, 0}, {0, 5}, {3, 3}, {3, 5}, // from < FirstOffset
			{4, 12}, {11, 12}, {12, 12}, {4, math.MaxUint64}, // to > LastOffset+1
			{5, 4}, {11, 10}, {11, 4}, // from > to
		} {
			got, err := s.Entries(r[0], r[1], noLimit)
			require.ErrorIs(t, err, chain.ErrOutOfRange, "Entries(%d, %d) of [4, 10]", r[0], r[1])
			require.Empty(t, got, "Entries(%d, %d) of [4, 10]", r[0], r[1])
		}
		got, err := s.Entries(11, 11, noLimit)
		require.NoError(t, err, "empty range at LastOffset+1")
		require.Empty(t, got)
	})
	t.Run("ResultIsCopy", func(t *testing.T) {
		s := fresh(t)
		want := appendN(t, s, 5)
		got, err := s.Entries(1, 6, noLimit)
		require.NoError(t, err)
		for i := range got {
			got[i].Data = append(got[i].Data, "grown"...) // must not spill into got[i+1]
			for j := range got[i].Data {
				got[i].Data[j] ^= 0xff
			}
			got[i].Offset, got[i].Epoch, got[i].Command = 0, 0, "changed"
		}
		for i := range got {
			require.Equal(t, append(bytesXor(want[i].Data), bytesXor([]byte("grown"))...), got[i].Data,
				"entry %d's Data was changed by modifying another returned entry", i)
		}
		requireLog(t, s, 1, want)
	})
	t.Run("FieldsRoundTrip", func(t *testing.T) {
		s := fresh(t)
		want := fieldCases()
		require.NoError(t, s.Append(want))
		requireLog(t, s, 1, want)
		for i := range want {
			off := want[i].Offset
			got, err := s.Entries(off, off+1, 1)
			require.NoError(t, err)
			requireEntries(t, want[i:i+1], got, "entry %d alone", off)
		}
	})
}

// maxBytesCases returns the maxBytes values worth trying on es: 1 and each
// prefix's total Size() and its neighbours.
func maxBytesCases(es []chain.Entry) []int {
	cases := []int{1}
	for i := range es {
		n := totalSize(es[:i+1])
		cases = append(cases, n-1, n, n+1)
	}
	return cases
}

// bytesXor returns a copy of b with every bit flipped.
func bytesXor(b []byte) []byte {
	out := bytes.Clone(b)
	for i := range out {
		out[i] ^= 0xff
	}
	return out
}

// fieldCases returns entries at offsets 1, 2, ... that exercise every
// field's extremes.
func fieldCases() []chain.Entry {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return []chain.Entry{
		{Offset: 1, Epoch: 3, Client: "client-1", Session: 77, Seq: 9, Acked: 8, Since: 6, Time: 1_700_000_000_000_000_001, Command: "put", Data: []byte("payload")},
		{Offset: 2}, // every other field zero, nil Data
		{Offset: 3, Epoch: 1, Data: []byte{}},
		{Offset: 4, Epoch: math.MaxUint64, Session: math.MaxUint64, Seq: math.MaxUint64, Acked: math.MaxUint64, Since: math.MaxUint64, Time: math.MaxInt64, Data: all},
		{Offset: 5, Client: "klient-✓ with spaces", Command: "cmd/with\x00odd bytes", Data: []byte{0}},
		{Offset: 6, Epoch: 2, Command: "big", Data: bytes.Repeat([]byte("0123456789abcdef"), 1<<14)},
		{Offset: 7, Epoch: 2, Client: "client-2", Seq: 1},
	}
}
