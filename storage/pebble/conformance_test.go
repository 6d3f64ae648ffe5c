package pebble

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/storagetest"
)

func TestConformanceOnDisk(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) chain.Storage {
		s, err := Open(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

func TestConformanceInMemoryFS(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) chain.Storage {
		s, err := Open("/db", WithFS(vfs.NewMem()))
		require.NoError(t, err)
		return s
	})
}
