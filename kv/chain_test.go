package kv_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
)

// testTimeout bounds every wait of a test on the chain.
const testTimeout = 10 * time.Second

// startChain starts the chain n1 -> n2 -> n3 on the in-memory transport
// with memory storage, each node with its own Store, closed at the end of
// the test.
func startChain(t *testing.T) *launch.Chain {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cl, err := launch.StartChain(ctx, launch.ChainConfig{Config: launch.InmemConfig("n1", "n2", "n3"),
		NodeOptions: []chain.NodeOption{chain.WithPollInterval(20 * time.Millisecond)}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	require.Len(t, cl.Nodes, 3)
	require.NotSame(t, cl.Nodes[0].Store, cl.Nodes[1].Store)
	require.NotSame(t, cl.Nodes[1].Store, cl.Nodes[2].Store)
	return cl
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// requireReplicas waits until every node has committed and applied all
// acknowledged writes, then requires every node's Store to hold want.
func requireReplicas(t *testing.T, ctx context.Context, cl *launch.Chain, want map[string][]byte) {
	t.Helper()
	offset, err := cl.WaitConverged(ctx)
	require.NoError(t, err)
	for _, n := range cl.Nodes {
		require.GreaterOrEqual(t, n.Log().CommitPoint(), offset, "node %s", n.ID())
		require.Equal(t, want, n.Store.Snapshot(), "node %s at offset %d", n.ID(), offset)
	}
}
