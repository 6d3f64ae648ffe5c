package pebble

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// TestLogTablesAreNeverRewritten appends entries while setting
// metadata, as a node saving its commit point does, through many memtable
// flushes: the log database's tables never overlap, so Pebble has no
// reason to rewrite them (with the metadata among the entries, every table
// overlapped every other and compactions rewrote the log over and over).
func TestLogTablesAreNeverRewritten(t *testing.T) {
	s, err := Open("/db", WithFS(vfs.NewMem()), WithSync(false), withMemTableSize(256<<10), WithLogger(quietLogger()))
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	off := uint64(1)
	for b := range 2000 {
		ents := make([]chain.Entry, 32)
		for i := range ents {
			ents[i] = chain.Entry{Offset: off, Epoch: 1, Client: "client-1", Session: 9, Seq: off, Data: make([]byte, 100)}
			off++
		}
		require.NoError(t, s.Append(ents))
		if b%20 == 0 {
			require.NoError(t, s.SetMeta("commit", []byte{byte(b)}))
		}
	}
	require.NoError(t, s.db.Flush())

	m := s.db.Metrics()
	var flushed, compacted uint64
	for i := range m.Levels {
		flushed += m.Levels[i].TableBytesFlushed
		compacted += m.Levels[i].TableBytesCompacted
	}
	require.Greater(t, m.Flush.Count, int64(10), "memtables were flushed")
	require.Positive(t, flushed)
	require.Zero(t, compacted, "no table was rewritten")
}
