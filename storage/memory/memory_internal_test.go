package memory

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func appendN(t *testing.T, s *Storage, n int) {
	t.Helper()
	es := make([]chain.Entry, n)
	for i := range es {
		es[i] = chain.Entry{Offset: s.LastOffset() + 1 + uint64(i), Data: make([]byte, 64)}
	}
	require.NoError(t, s.Append(es))
}

func TestTruncatePrefixReleasesBackingArray(t *testing.T) {
	s := New()
	appendN(t, s, 1000)
	old := &s.entries[:cap(s.entries)][cap(s.entries)-1]

	require.NoError(t, s.TruncatePrefix(998))
	require.Len(t, s.entries, 3)
	require.LessOrEqual(t, cap(s.entries), 3, "kept the old backing array")
	require.NotSame(t, old, &s.entries[:cap(s.entries)][cap(s.entries)-1])

	require.NoError(t, s.TruncatePrefix(2000))
	require.Nil(t, s.entries)
}

func TestTruncateSuffixDropsRemovedData(t *testing.T) {
	s := New()
	appendN(t, s, 10)
	require.NoError(t, s.TruncateSuffix(4))
	for i, e := range s.entries[len(s.entries):cap(s.entries)] {
		require.Zero(t, e, "slot %d past the end still holds an entry", i)
	}
}
