package chain

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

func recentTestEntries(from uint64, n int, size int) []Entry {
	ents := make([]Entry, n)
	for i := range ents {
		ents[i] = Entry{Offset: from + uint64(i), Data: make([]byte, size)}
	}
	return ents
}

// TestRecentEntriesServeTheLatestWindow: the memory of recent entries
// answers reads from within what it holds (bounded by to and maxBytes),
// refuses reads from outside it, evicts the oldest beyond its bound, and
// starts over when an append does not continue it.
func TestRecentEntriesServeTheLatestWindow(t *testing.T) {
	var r recentEntries
	_, ok := r.get(1, 2, 100)
	require.False(t, ok, "empty")

	r.add(recentTestEntries(1, 10, 10))
	got, ok := r.get(3, 6, 1<<20)
	require.True(t, ok)
	require.Equal(t, []uint64{3, 4, 5}, offsetsOf(got))
	require.Equal(t, cap(got), len(got), "a reader cannot append into the held entries")

	got, ok = r.get(3, 11, 2*(10+wire.EntryOverhead))
	require.True(t, ok)
	require.Equal(t, []uint64{3, 4}, offsetsOf(got), "maxBytes bounds the read")
	got, ok = r.get(10, 20, 1)
	require.True(t, ok)
	require.Equal(t, []uint64{10}, offsetsOf(got), "at least one entry")
	_, ok = r.get(11, 20, 1<<20)
	require.False(t, ok, "beyond the last held")
	_, ok = r.get(0, 5, 1<<20)
	require.False(t, ok, "before the first held")

	// Reads stop at the end of a segment; eviction drops whole segments
	// once the rest hold the bound.
	r.add(recentTestEntries(11, 3*recentSegment, 1<<10))
	got, ok = r.get(recentSegment-2, 1<<20, 1<<30)
	require.True(t, ok)
	require.Len(t, got, 3, "the rest of the first segment")
	require.Equal(t, uint64(recentSegment-2), got[0].Offset)
	last := uint64(10 + 3*recentSegment)
	r.add(recentTestEntries(last+1, recentBytes/(1<<10), 1<<10))
	last += recentBytes / (1 << 10)
	require.GreaterOrEqual(t, r.bytes, recentBytes)
	require.Less(t, r.bytes-r.sizes[0], recentBytes, "nothing more could be dropped")
	_, ok = r.get(1, 2, 1<<20)
	require.False(t, ok, "evicted")
	got, ok = r.get(last, last+1, 1<<20)
	require.True(t, ok)
	require.Equal(t, []uint64{last}, offsetsOf(got))
	first := r.segs[0][0].Offset
	for off := first; off <= last; off += 97 {
		got, ok := r.get(off, off+1, 1<<20)
		require.True(t, ok, "offset %d", off)
		require.Equal(t, off, got[0].Offset)
	}

	// An append that does not continue the held entries replaces them.
	r.add(recentTestEntries(5, 2, 1))
	got, ok = r.get(5, 10, 1<<20)
	require.True(t, ok)
	require.Equal(t, []uint64{5, 6}, offsetsOf(got))
	_, ok = r.get(last, last+1, 1<<20)
	require.False(t, ok)

	r.clear()
	_, ok = r.get(5, 6, 1<<20)
	require.False(t, ok)
}

func offsetsOf(ents []Entry) []uint64 {
	var offs []uint64
	for _, e := range ents {
		offs = append(offs, e.Offset)
	}
	return offs
}
