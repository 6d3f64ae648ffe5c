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
