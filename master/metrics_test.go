package master

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/testutil"
)

func TestReconfigReason(t *testing.T) {
	m := func(ids ...string) []chain.Member {
		var ms []chain.Member
		for _, id := range ids {
			ms = append(ms, chain.Member{ID: id, Addr: id})
		}
		return ms
	}
	joining := func(id string) *chain.Member { return &chain.Member{ID: id, Addr: id} }
	abc := chain.Config{Epoch: 1, Members: m("a", "b", "c")}
	tests := []struct {
		name    string
		old     chain.Config
		existed bool
		next    chain.Config
		dead    string
		want    string
	}{
		{"new chain", chain.Config{}, false, abc, "", reasonCreated},
		{"dead member removed", abc, true, chain.Config{Epoch: 2, Members: m("a", "c")}, "b", reasonNodeFailed},
		{"live member removed", abc, true, chain.Config{Epoch: 2, Members: m("a", "c")}, "", reasonNodeRemoved},
		{"dead joining node dropped", chain.Config{Epoch: 2, Members: m("a", "b"), Joining: joining("c")}, true,
			chain.Config{Epoch: 3, Members: m("a", "b")}, "c", reasonNodeFailed},
		{"join starts", chain.Config{Epoch: 2, Members: m("a", "b")}, true,
			chain.Config{Epoch: 3, Members: m("a", "b"), Joining: joining("c")}, "", reasonJoinStarted},
		{"join completes", chain.Config{Epoch: 3, Members: m("a", "b"), Joining: joining("c")}, true,
			chain.Config{Epoch: 4, Members: m("a", "b", "c")}, "", reasonJoinCompleted},
		{"a removal outranks a join", chain.Config{Epoch: 3, Members: m("a", "b"), Joining: joining("c")}, true,
			chain.Config{Epoch: 4, Members: m("b", "c")}, "a", reasonNodeFailed},
		{"same nodes", abc, true, chain.Config{Epoch: 2, Members: m("a", "b", "c")}, "", reasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alive := func(id string) bool { return id != tt.dead }
			require.Equal(t, tt.want, reconfigReason(tt.old, tt.existed, tt.next, alive))
		})
	}
}

// TestCollector kills the tail of a chain and adds a node, and checks
// the reconfigurations and heartbeat ages the master's collector reports.
func TestCollector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(c.master.Collector()))
		gather := func() testutil.Scrape { return testutil.GatherMetrics(t, reg) }
		get := func(s testutil.Scrape, name string, labels map[string]string) float64 { return s.Get(name, labels) }
		reason := func(r string) map[string]string { return map[string]string{"chain": "", "reason": r} }
		s := gather()
		require.Equal(t, 1.0, get(s, "chain_master_leader", map[string]string{"master": masterAddr}))
		require.Equal(t, 1.0, get(s, "chain_master_epoch", nil))
		require.Equal(t, 3.0, get(s, "chain_master_members", nil))
		require.Zero(t, get(s, "chain_master_reconfigurations_total", reason(reasonNodeFailed)))
		require.Less(t, get(s, "chain_master_heartbeat_age_seconds", map[string]string{"node": "n3"}), bubbleTimeout.Seconds())

		require.NoError(t, c.nodes["n3"].Close())
		_, ok := waitFor(3*time.Second, func() bool { return len(c.master.Config().Members) == 2 })
		require.True(t, ok, "the killed tail was never removed")
		s = gather()
		require.Equal(t, 1.0, get(s, "chain_master_reconfigurations_total", reason(reasonNodeFailed)))
		require.Equal(t, 2.0, get(s, "chain_master_epoch", nil))
		require.False(t, s.Has("chain_master_heartbeat_age_seconds", map[string]string{"node": "n3"}), "a removed node is not reported")

		_, err := c.master.AddNode(chain.Member{ID: "n4", Addr: "n4"})
		require.NoError(t, err)
		c.startNode("n4", chain.WithAddr("n4"))
		_, ok = waitFor(5*time.Second, func() bool { return len(c.master.Config().Members) == 3 })
		require.True(t, ok, "n4 never became the tail")
		s = gather()
		require.Equal(t, 1.0, get(s, "chain_master_reconfigurations_total", reason(reasonJoinStarted)))
		require.Equal(t, 1.0, get(s, "chain_master_reconfigurations_total", reason(reasonJoinCompleted)))
		require.Zero(t, get(s, "chain_master_reconfigurations_total", reason(reasonNodeRemoved)))
		require.Less(t, get(s, "chain_master_heartbeat_age_seconds", map[string]string{"node": "n4"}), bubbleTimeout.Seconds())
	})
}
