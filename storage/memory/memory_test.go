package memory_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/storage/storagetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) chain.Storage { return memory.New() })
}

func BenchmarkStorage(b *testing.B) {
	storagetest.RunBenchmarks(b, func(*testing.B) chain.Storage { return memory.New() })
}

func TestMethodsAfterCloseReturnErrClosed(t *testing.T) {
	s := memory.New()
	require.NoError(t, s.Append([]chain.Entry{{Offset: 1}, {Offset: 2}}))
	require.NoError(t, s.SetMeta("epoch", []byte("1")))
	require.NoError(t, s.Close())
	storagetest.RequireClosed(t, s)

	// FirstOffset and LastOffset cannot fail: the closed storage reports an
	// empty log that ends where the open one did.
	require.Equal(t, uint64(3), s.FirstOffset())
	require.Equal(t, uint64(2), s.LastOffset())
}

func TestSetMetaRejectsEmptyKey(t *testing.T) {
	s := memory.New()
	defer s.Close()
	require.ErrorIs(t, s.SetMeta("", []byte("x")), chain.ErrInvalidArgument)
	_, ok, err := s.Meta("")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestErrorsSayWhere(t *testing.T) {
	s := memory.New()
	defer s.Close()
	err := s.Append([]chain.Entry{{Offset: 1}, {Offset: 3}})
	require.ErrorIs(t, err, chain.ErrNotDense)
	require.EqualError(t, err, "memory storage: append at 1: chain: offsets not dense: entry 1 has offset 3, want 2")
	_, err = s.Entries(2, 3, 0)
	require.ErrorIs(t, err, chain.ErrOutOfRange)
	require.EqualError(t, err, "memory storage: entries [2, 3) of log [1, 0]: chain: offset out of range")
}
