package chain

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
	"github.com/chainrep/chain/wire"
)

// clientOps are the calls the client times, by the op label of
// chain_client_call_seconds.
var clientOps = [...]struct {
	op   wire.Op
	name string
}{
	{wire.OpAppend, "append"},
	{wire.OpCommand, "command"},
	{wire.OpQuery, "query"},
	{wire.OpRead, "read"},
	{wire.OpLatest, "latest"},
}

// clientMetrics are the client's call latency histograms, one per op and
// result, made when the client is, so that timing a call allocates
// nothing.
type clientMetrics struct {
	calls *prometheus.HistogramVec
	// byOp[i][0] times the successful calls of clientOps[i], [1] the
	// failed ones.
	byOp [len(clientOps)][2]prometheus.Observer
}

func newClientMetrics() *clientMetrics {
	m := &clientMetrics{calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "client", Name: "call_seconds",
		Help:    "Duration of the client's calls, retries included, by operation and result (ok or error).",
		Buckets: metrics.LatencyBuckets,
	}, []string{"op", "result"})}
	for i, o := range clientOps {
		m.byOp[i][0] = m.calls.WithLabelValues(o.name, "ok")
		m.byOp[i][1] = m.calls.WithLabelValues(o.name, "error")
	}
	return m
}

// observe times a call of op that started at start and ended with err.
func (m *clientMetrics) observe(op wire.Op, err error, start time.Time) {
	for i := range clientOps {
		if clientOps[i].op == op {
			res := 0
			if err != nil {
				res = 1
			}
			metrics.Since(m.byOp[i][res], start)
			return
		}
	}
}

// Collector returns a Prometheus collector of the client's metrics, for
// the embedding program to register on its own registry: the latency of
// its calls (chain_client_call_seconds, by op and result), the calls in
// flight and the epoch of the configuration it uses. Its metrics carry no
// constant labels: to register the collectors of several clients on one
// registry, wrap it, as in
// prometheus.WrapRegistererWith(prometheus.Labels{"client": "orders"}, reg).
func (c *Client) Collector() prometheus.Collector {
	b := metrics.NewBuilder("client", nil)
	inflight := b.Desc("calls_inflight", "Calls in flight: sent and waiting for their reply (at most the limit of WithMaxInflight).")
	limit := b.Desc("calls_inflight_limit", "The most calls the client runs at once (WithMaxInflight).")
	epoch := b.Desc("epoch", "Epoch of the configuration the client sends to.")
	return b.Collector(func(ch chan<- prometheus.Metric) {
		metrics.Gauge(ch, inflight, float64(len(c.slots)))
		metrics.Gauge(ch, limit, float64(cap(c.slots)))
		metrics.Gauge(ch, epoch, float64(c.Config().Epoch))
	}, c.metrics.calls)
}
