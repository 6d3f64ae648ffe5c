package memory

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func appendN(t *testing.T, s *Storage, n int) {
	t.Helper()
	for n > 0 {
		batch := min(n, 1000)
		es := make([]chain.Entry, batch)
		for i := range es {
			es[i] = chain.Entry{Offset: s.LastOffset() + 1 + uint64(i), Data: make([]byte, 64)}
		}
		require.NoError(t, s.Append(es))
		n -= batch
	}
}

func TestTruncatePrefixReleasesSegments(t *testing.T) {
	s := New()
	appendN(t, s, 3*segmentSize+10)
	require.Len(t, s.entries.segs, 4)

	require.NoError(t, s.TruncatePrefix(2*segmentSize+5))
	require.Len(t, s.entries.segs, 2, "kept segments wholly below the new first offset")
	// The slots below the first offset in the kept segment hold nothing.
	for i := range 4 {
		require.Zero(t, s.entries.segs[0][i], "slot %d", i)
	}
	require.NotNil(t, s.entries.at(2*segmentSize+5).Data)

	require.NoError(t, s.TruncatePrefix(10*segmentSize))
	require.Nil(t, s.entries.segs)
	require.Equal(t, uint64(10*segmentSize), s.FirstOffset())
	appendN(t, s, 1)
	require.Equal(t, uint64(10*segmentSize), s.LastOffset())
}

func TestTruncateSuffixDropsRemovedData(t *testing.T) {
	s := New()
	appendN(t, s, segmentSize+10)
	require.NoError(t, s.TruncateSuffix(4))
	require.Len(t, s.entries.segs, 1, "kept a segment past the end")
	for i, e := range s.entries.segs[0][3:] {
		require.Zero(t, e, "slot %d past the end still holds an entry", i+3)
	}
	appendN(t, s, 2*segmentSize)
	require.Equal(t, uint64(2*segmentSize+3), s.LastOffset())
	ents, err := s.Entries(1, s.LastOffset()+1, 1<<40)
	require.NoError(t, err)
	for i, e := range ents {
		require.Equal(t, uint64(i+1), e.Offset)
	}
}
