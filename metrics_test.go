package chain_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/internal/metrics"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/storage/pebble"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/transport/tcp"
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

	m := testutil.GatherMetrics(t, reg)
	get := m.Get
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
	require.False(t, m.Has("chain_node_successor_lag_entries", n3), "the tail has no successor")
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

// dashboardPath is the Grafana dashboard of the README's Metrics section.
const dashboardPath = "deploy/grafana/chain.json"

// TestDashboardQueriesExistingMetrics parses the dashboard and checks
// that every chain_ metric its queries use is described by a collector,
// so that renaming a metric without the dashboard fails here.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	names := collectorNames(t)
	raw, err := os.ReadFile(dashboardPath)
	require.NoError(t, err)
	var dash map[string]any
	require.NoError(t, json.Unmarshal(raw, &dash), "the dashboard is not JSON")
	panels, ok := dash["panels"].([]any)
	require.True(t, ok, "no panels")
	require.NotEmpty(t, panels)

	var queries []string
	collectQueries(dash, &queries)
	require.NotEmpty(t, queries)
	used := map[string]bool{}
	ident := regexp.MustCompile(`\bchain_[a-z0-9_]+`)
	for _, q := range queries {
		for _, name := range ident.FindAllString(q, -1) {
			used[name] = true
			if slices.Contains(names, name) {
				continue
			}
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			require.True(t, slices.Contains(names, base), "the dashboard queries %s (in %q), which no collector has", name, q)
		}
	}
	for _, want := range []string{"chain_node_role", "chain_node_epoch", "chain_node_commit_point", "chain_node_successor_lag_entries",
		"chain_node_refusals_total", "chain_pebble_wal_fsync_seconds_bucket", "chain_node_hop_seconds_bucket",
		"chain_master_reconfigurations_total", "chain_master_heartbeat_age_seconds"} {
		require.True(t, used[want], "the dashboard does not show %s", want)
	}
}

// collectQueries appends the PromQL of every target and variable of the
// dashboard (the strings under "expr", "query" and "definition").
func collectQueries(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				*out = append(*out, s)
				continue
			}
			collectQueries(x, out)
		}
	case []any:
		for _, x := range v {
			collectQueries(x, out)
		}
	}
}

// collectorNames returns the names of the metrics that the collectors of
// a node, a client, a master, the transports and the Pebble storage
// describe.
func collectorNames(t *testing.T) []string {
	t.Helper()
	net := inmem.New(inmem.Options{})
	t.Cleanup(func() { _ = net.Close() })
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	node, err := chain.NewNode("n1", chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
	require.NoError(t, err)
	client, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	m, err := master.Start(master.Options{Transport: net, Addr: "master", Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	st, err := pebble.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	tr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = tr.Close() })
	cs := []prometheus.Collector{node.Collector(), client.Collector(), m.Collector(), st.Collector(),
		tr.Collector(), net.Collector(), mux.New(net).Collector()}
	return metrics.Names(cs...)
}
