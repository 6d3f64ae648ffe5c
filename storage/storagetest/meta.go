package storagetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// requireMeta checks that s holds want under key.
func requireMeta(t *testing.T, s chain.Storage, key string, want []byte) {
	t.Helper()
	got, ok, err := s.Meta(key)
	require.NoError(t, err, "Meta(%q)", key)
	require.True(t, ok, "Meta(%q) found nothing", key)
	require.Equal(t, string(want), string(got), "Meta(%q)", key)
}

func testMeta(t *testing.T, fresh opener) {
	t.Run("Missing", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.SetMeta("epoch", []byte("1")))
		got, ok, err := s.Meta("commit")
		require.NoError(t, err)
		require.False(t, ok)
		require.Empty(t, got)
	})
	t.Run("SetAndOverwrite", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.SetMeta("epoch", []byte("1")))
		requireMeta(t, s, "epoch", []byte("1"))
		require.NoError(t, s.SetMeta("epoch", []byte("a longer value")))
		requireMeta(t, s, "epoch", []byte("a longer value"))
		require.NoError(t, s.SetMeta("epoch", []byte("2")))
		requireMeta(t, s, "epoch", []byte("2"))
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		s := fresh(t)
		keys := []string{"epoch", "commit", "config", "e", "epoch2"}
		for _, k := range keys {
			require.NoError(t, s.SetMeta(k, []byte("value of "+k)))
		}
		require.NoError(t, s.SetMeta("commit", []byte("new")))
		for _, k := range keys {
			if k != "commit" {
				requireMeta(t, s, k, []byte("value of "+k))
			}
		}
		requireMeta(t, s, "commit", []byte("new"))
	})
	t.Run("BinaryValue", func(t *testing.T) {
		s := fresh(t)
		value := make([]byte, 512)
		for i := range value {
			value[i] = byte(i)
		}
		require.NoError(t, s.SetMeta("config", value))
		requireMeta(t, s, "config", value)
	})
	t.Run("EmptyValue", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.SetMeta("epoch", []byte("1")))
		require.NoError(t, s.SetMeta("epoch", []byte{}))
		requireMeta(t, s, "epoch", nil)
	})
	t.Run("DoesNotRetainValue", func(t *testing.T) {
		s := fresh(t)
		value := []byte("original")
		require.NoError(t, s.SetMeta("epoch", value))
		copy(value, "CHANGED!")
		requireMeta(t, s, "epoch", []byte("original"))
	})
	t.Run("ResultIsCopy", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.SetMeta("epoch", []byte("original")))
		got, ok, err := s.Meta("epoch")
		require.NoError(t, err)
		require.True(t, ok)
		copy(got, "CHANGED!")
		requireMeta(t, s, "epoch", []byte("original"))
	})
	t.Run("IndependentOfLog", func(t *testing.T) {
		s := fresh(t)
		require.NoError(t, s.SetMeta("commit", []byte("7")))
		appendN(t, s, 10)
		require.NoError(t, s.TruncateSuffix(5))
		require.NoError(t, s.TruncatePrefix(20))
		requireMeta(t, s, "commit", []byte("7"))
	})
}
