package chain_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/internal/metrics"
)

// TestNodeAndClientCollectors runs appends through a 3-node chain and
// checks what the nodes' and the client's collectors report.
func TestNodeAndClientCollectors(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 3, Seed: 1})
	reg := prometheus.NewPedanticRegistry()
	for i := range 3 {
		require.NoError(t, reg.Register(c.Node(i).Collector()))
	}
	require.Error(t, reg.Register(c.Node(0).Collector()), "a node's collector registers once")
	cl := c.Client()
	require.NoError(t, reg.Register(cl.Collector()))

	ctx := testCtx(t)
	const n = 20
	for i := range n {
		_, err := cl.Append(ctx, []byte{byte(i)})
		require.NoError(t, err)
	}
	_, err := cl.Do(ctx, "no-such-command", nil)
	require.ErrorIs(t, err, chain.ErrUnknownCommand)
	require.NoError(t, c.WaitConverged(ctx))

	samples, err := metrics.Gather(reg)
	require.NoError(t, err)
	get := func(name string, labels map[string]string) float64 {
		t.Helper()
		v, ok := metrics.Find(samples, name, labels)
		require.True(t, ok, "no %s %v", name, labels)
		return v
	}
	n1, n2, n3 := map[string]string{"node": "n1"}, map[string]string{"node": "n2"}, map[string]string{"node": "n3"}
	require.Equal(t, 1.0, get("chain_node_role", map[string]string{"node": "n1", "role": "head"}))
	require.Equal(t, 0.0, get("chain_node_role", map[string]string{"node": "n1", "role": "tail"}))
	require.Equal(t, 1.0, get("chain_node_role", map[string]string{"node": "n3", "role": "tail"}))
	for _, node := range []map[string]string{n1, n2, n3} {
		require.Equal(t, 1.0, get("chain_node_epoch", node))
		require.Equal(t, 1.0, get("chain_node_serving", node))
		require.Equal(t, float64(n), get("chain_node_commit_point", node))
		require.Equal(t, float64(n), get("chain_node_last_offset", node))
		require.Equal(t, 1.0, get("chain_node_first_offset", node))
		require.Equal(t, 0.0, get("chain_node_uncommitted_entries", node))
		require.Positive(t, get("chain_node_storage_append_seconds", node), "appends timed")
	}
	require.Equal(t, 0.0, get("chain_node_successor_lag_entries", map[string]string{"node": "n1", "successor": "n2"}))
	_, ok := metrics.Find(samples, "chain_node_successor_lag_entries", n3)
	require.False(t, ok, "the tail has no successor")
	require.Positive(t, get("chain_node_hop_seconds", n1), "hops timed at the head")
	require.Positive(t, get("chain_node_hop_seconds", n2), "hops timed in the middle")
	require.Zero(t, get("chain_node_hop_seconds", n3), "the tail sends to nobody")
	require.Equal(t, float64(n), get("chain_node_entries_ordered_total", n1))
	require.Equal(t, 1.0, get("chain_node_refusals_total", map[string]string{"node": "n1", "reason": "unknown_command"}))
	require.Zero(t, get("chain_node_refusals_total", map[string]string{"node": "n1", "reason": "busy"}))
	require.Equal(t, float64(n), get("chain_client_call_seconds", map[string]string{"op": "append", "result": "ok"}))
	require.Equal(t, 1.0, get("chain_client_call_seconds", map[string]string{"op": "command", "result": "error"}))
	require.Equal(t, 1.0, get("chain_client_epoch", nil))
}
