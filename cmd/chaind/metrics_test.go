package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/metrics"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/tcp"
)

// metricsAddr finds where chaind serves its metrics in its output.
var metricsAddr = regexp.MustCompile(`metrics on http://([^/]+)/metrics`)

// TestMetricsEndpoint runs a local chain on Pebble with -metrics on a
// free port, writes through it, and scrapes /metrics: the metrics of the
// nodes, their storage, the master, the client and the transport are
// there with the values the writes imply, and /debug/pprof/ answers.
func TestMetricsEndpoint(t *testing.T) {
	base, err := launch.FreePortRange(4)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	out := &testutil.SyncBuffer{}
	var wg sync.WaitGroup
	wg.Go(func() {
		args := []string{"-port", strconv.Itoa(base + 1), "-data", t.TempDir(), "-metrics", "127.0.0.1:0", "-log-level", "error"}
		if err := run(ctx, args, out); err != nil {
			t.Errorf("chaind: %v", err)
		}
	})
	defer wg.Wait()
	defer cancel()
	require.Eventually(t, func() bool { return metricsAddr.MatchString(out.String()) }, 10*time.Second, 5*time.Millisecond)
	addr := metricsAddr.FindStringSubmatch(out.String())[1]
	require.Eventually(t, func() bool { return regexp.MustCompile("reach the chain").MatchString(out.String()) }, 10*time.Second, 5*time.Millisecond)

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	masterAddr := fmt.Sprintf("127.0.0.1:%d", base)
	client, err := chain.NewClient(chain.WithTransport(tr), chain.WithMaster(masterAddr))
	require.NoError(t, err)
	defer client.Close()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	const writes = 10
	for i := range writes {
		_, err := client.Append(wctx, []byte{byte(i)})
		require.NoError(t, err)
	}

	scrape := func() []metrics.Sample {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		samples, err := metrics.ParseText(resp.Body)
		require.NoError(t, err)
		return samples
	}
	// The commit point reaches the head with the tail's next pull.
	var s []metrics.Sample
	require.Eventually(t, func() bool {
		s = scrape()
		v, _ := metrics.Find(s, "chain_node_commit_point", map[string]string{"node": "n1"})
		return v >= writes
	}, 10*time.Second, 10*time.Millisecond)

	get := func(name string, labels map[string]string) float64 {
		t.Helper()
		v, ok := metrics.Find(s, name, labels)
		require.True(t, ok, "%s %v not served", name, labels)
		return v
	}
	n1 := map[string]string{"node": "n1"}
	require.Equal(t, 1.0, get("chain_node_role", map[string]string{"node": "n1", "role": "head"}))
	require.Equal(t, 1.0, get("chain_node_role", map[string]string{"node": "n3", "role": "tail"}))
	for _, id := range []string{"n1", "n2", "n3"} {
		node := map[string]string{"node": id}
		require.GreaterOrEqual(t, get("chain_node_epoch", node), 1.0)
		require.Equal(t, 1.0, get("chain_node_first_offset", node))
		require.GreaterOrEqual(t, get("chain_node_last_offset", node), float64(writes))
		require.Equal(t, 1.0, get("chain_node_serving", node))
		require.Positive(t, get("chain_pebble_wal_fsync_seconds", map[string]string{"node": id, "db": "log"}), "fsyncs timed")
		require.Positive(t, get("chain_node_storage_append_seconds", node))
	}
	require.GreaterOrEqual(t, get("chain_node_commit_point", n1), float64(writes))
	require.GreaterOrEqual(t, get("chain_node_successor_lag_entries", map[string]string{"node": "n1", "successor": "n2"}), 0.0)
	require.GreaterOrEqual(t, get("chain_node_uncommitted_entries", n1), 0.0)
	require.GreaterOrEqual(t, get("chain_node_inflight_bytes", n1), 0.0)
	require.GreaterOrEqual(t, get("chain_node_refusals_total", map[string]string{"node": "n1", "reason": "busy"}), 0.0)
	require.Equal(t, float64(writes), get("chain_node_entries_ordered_total", n1))
	require.Positive(t, get("chain_node_hop_seconds", n1), "hops timed")
	require.Equal(t, 1.0, get("chain_master_leader", nil))
	require.GreaterOrEqual(t, get("chain_master_epoch", nil), 1.0)
	require.GreaterOrEqual(t, get("chain_master_reconfigurations_total", map[string]string{"reason": "node_failed"}), 0.0)
	age := get("chain_master_heartbeat_age_seconds", n1)
	require.True(t, age >= 0 && age < 60, "heartbeat age %v", age)
	require.GreaterOrEqual(t, get("chain_client_calls_inflight", nil), 0.0)
	require.Positive(t, get("chain_tcp_connections", nil))
	require.Positive(t, get("chain_tcp_messages_sent_total", nil))
	require.Positive(t, get("chain_tcp_bytes_received_total", nil))
	require.Positive(t, get("go_goroutines", nil))

	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "goroutine")
}

// TestMetricsOfALocalCluster: a local partitioned cluster serves the
// node metrics of every replica its servers run, by chain, and the
// servers' mux transports.
func TestMetricsOfALocalCluster(t *testing.T) {
	base, err := launch.FreePortRange(2)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	out := &testutil.SyncBuffer{}
	var wg sync.WaitGroup
	wg.Go(func() {
		args := []string{"-chains", "2", "-servers", "1", "-port", strconv.Itoa(base + 1), "-metrics", "127.0.0.1:0", "-log-level", "error"}
		if err := run(ctx, args, out); err != nil {
			t.Errorf("chaind: %v", err)
		}
	})
	defer wg.Wait()
	defer cancel()
	require.Eventually(t, func() bool { return regexp.MustCompile("chains created").MatchString(out.String()) }, 20*time.Second, 5*time.Millisecond)
	addr := metricsAddr.FindStringSubmatch(out.String())[1]

	var s []metrics.Sample
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		s, err = metrics.ParseText(resp.Body)
		require.NoError(t, err)
		_, c1 := metrics.Find(s, "chain_node_role", map[string]string{"chain": "c1", "node": "s1/c1", "role": "head+tail"})
		_, c0 := metrics.Find(s, "chain_node_role", map[string]string{"chain": "c0", "node": "s1/c0", "role": "head+tail"})
		return c0 && c1
	}, 10*time.Second, 10*time.Millisecond, "the replicas' metrics are not served")
	_, ok := metrics.Find(s, "chain_mux_messages_delivered_total", map[string]string{"server": "s1"})
	require.True(t, ok, "the server's mux transport is not served")
	v, ok := metrics.Find(s, "chain_master_epoch", map[string]string{"chain": "c1"})
	require.True(t, ok)
	require.GreaterOrEqual(t, v, 1.0)
}

func TestMetricsFlagRejectsBadAddress(t *testing.T) {
	err := run(context.Background(), []string{"-metrics", "127.0.0.1:99999"}, io.Discard)
	require.ErrorContains(t, err, "-metrics")
}
