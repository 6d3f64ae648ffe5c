package pebble

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/testutil"
)

func TestCollector(t *testing.T) {
	s, err := Open(t.TempDir(), WithLogger(quietLogger()))
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(s.Collector()))
	for i := range 6 {
		require.NoError(t, s.Append([]chain.Entry{{Offset: uint64(i + 1), Epoch: 1, Data: []byte("x")}}))
	}

	m := testutil.GatherMetrics(t, reg)
	get := func(name string, labels map[string]string) float64 { return m.Get(name, labels) }
	require.Equal(t, 6.0, get("chain_pebble_entries_appended_total", nil))
	// Pebble's WAL flusher wakes a synced write's caller before it records
	// the fsync's latency, and records it before it starts the next fsync:
	// once the sixth append returned, the first five fsyncs are counted.
	require.GreaterOrEqual(t, get("chain_pebble_wal_fsync_seconds", map[string]string{"db": "log"}), 5.0, "every synced append fsyncs")
	require.Positive(t, get("chain_pebble_wal_bytes_written_total", nil))
	require.Positive(t, get("chain_pebble_disk_usage_bytes", map[string]string{"db": "log"}))
	require.Zero(t, get("chain_pebble_failed", nil))

	require.NoError(t, s.Close())
	m = testutil.GatherMetrics(t, reg)
	require.Equal(t, 6.0, get("chain_pebble_entries_appended_total", nil), "the counts at Close")
	require.False(t, m.Has("chain_pebble_wal_fsync_seconds", nil), "no database to ask after Close")
}

// TestSecondsHistogram: Pebble's nanosecond buckets are reported in
// seconds at the bounds of fsyncBounds, with exact cumulative counts.
func TestSecondsHistogram(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: []float64{1e5, 2e5, 3e5, 5e6, 2e7}})
	for _, ns := range []float64{5e4, 1.5e5, 2.5e5, 4e6, 1.5e7, 1e10} {
		h.Observe(ns)
	}
	d := prometheus.NewDesc("x", "x", nil, nil)
	out := secondsHistogram(d, h)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(constCollector{d, out}))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := mfs[0].GetMetric()[0].GetHistogram()
	require.Equal(t, uint64(6), got.GetSampleCount())
	require.InDelta(t, (5e4+1.5e5+2.5e5+4e6+1.5e7+1e10)/1e9, got.GetSampleSum(), 1e-9)
	bounds := map[float64]uint64{}
	for _, b := range got.GetBucket() {
		bounds[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	// 100µs, 200µs (for 250µs), 300µs (for 500µs to 2ms), 5ms (for 5ms
	// and 10ms), 20ms (for 25ms and above): each Pebble bound once.
	require.Equal(t, map[float64]uint64{1e-4: 1, 2e-4: 2, 3e-4: 3, 5e-3: 4, 2e-2: 5}, bounds)
}

type constCollector struct {
	d *prometheus.Desc
	m prometheus.Metric
}

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.d }
func (c constCollector) Collect(ch chan<- prometheus.Metric) { ch <- c.m }
