package launch_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConfig(t *testing.T) {
	cfg := launch.Config("n1", "n2")
	require.Equal(t, chain.Config{Epoch: 1, Members: []chain.Member{
		{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"},
	}}, cfg)
}

func TestStartAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := launch.Start(ctx, []string{"a", "b", "c"})
	require.NoError(t, err)
	require.Len(t, cl.Nodes, 3)
	require.Equal(t, chain.RoleHead, cl.Nodes[0].Role())
	require.Equal(t, chain.RoleMiddle, cl.Nodes[1].Role())
	require.Equal(t, chain.RoleTail, cl.Nodes[2].Role())

	require.NoError(t, cl.KV.Put(ctx, "k", []byte("v")))
	offset, err := cl.WaitConverged(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, offset, uint64(1))
	for i, n := range cl.Nodes {
		require.GreaterOrEqual(t, n.Stats().Applied, offset)
		require.Equal(t, map[string][]byte{"k": []byte("v")}, cl.Stores[i].Snapshot())
	}

	require.NoError(t, cl.Close())
	require.NoError(t, cl.Close(), "Close is idempotent")
}

func TestStartFailureReleasesEverything(t *testing.T) {
	_, err := launch.Start(t.Context(), []string{"n1", "n1"})
	require.ErrorIs(t, err, chain.ErrInvalidConfig)

	_, err = launch.Start(t.Context(), nil)
	require.ErrorIs(t, err, chain.ErrInvalidConfig)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = launch.Start(cancelled, []string{"n1", "n2"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestWaitConvergedHonoursContext(t *testing.T) {
	cl, err := launch.Start(t.Context(), []string{"n1"})
	require.NoError(t, err)
	defer func() { require.NoError(t, cl.Close()) }()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = cl.WaitConverged(ctx)
	require.ErrorIs(t, err, context.Canceled)
}
