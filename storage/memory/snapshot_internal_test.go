package memory

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/storagetest"
)

func TestSnapshotConformance(t *testing.T) {
	storagetest.RunSnapshots(t, storagetest.Snapshots{
		Open: func(*testing.T) chain.Storage { return New() },
		Corrupt: func(t *testing.T, s chain.Storage, pos int64) {
			m := s.(*Storage)
			m.mu.Lock()
			defer m.mu.Unlock()
			require.NotNil(t, m.snap)
			m.snap.data[pos] ^= 0x20
		},
	})
}
