package inmem

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// metricStats is what the network's collector reads: its Stats and how
// many endpoints are open.
type metricStats struct {
	Stats
	endpoints int
}

// Collector returns a Prometheus collector of the network's Stats and
// open endpoints, read when scraped, for the embedding program (or test)
// to register on its own registry. The metrics carry no constant labels.
func (n *Network) Collector() prometheus.Collector {
	read := func() metricStats {
		n.mu.Lock()
		open := len(n.endpoints)
		n.mu.Unlock()
		return metricStats{n.Stats(), open}
	}
	b := metrics.NewBuilder("inmem", nil)
	fields := metrics.Fields(b, []metrics.Field[metricStats]{
		metrics.Level("endpoints", "Endpoints open on the network now.", func(s metricStats) float64 { return float64(s.endpoints) }),
		metrics.Count("messages_sent_total", "Messages accepted by Send.", func(s metricStats) uint64 { return s.Sent }),
		metrics.Count("messages_delivered_total", "Copies of messages put into an inbox.", func(s metricStats) uint64 { return s.Delivered }),
		metrics.Count("messages_dropped_total", "Copies lost to partitions, faults, or unknown and closed addresses.", func(s metricStats) uint64 { return s.Dropped }),
		metrics.Count("messages_overflow_total", "Copies lost to a full inbox.", func(s metricStats) uint64 { return s.Overflow }),
		metrics.Count("messages_duplicated_total", "Extra copies made by the Duplicate fault.", func(s metricStats) uint64 { return s.Duplicated }),
		metrics.Count("messages_delayed_total", "Copies held back by the Delay or Reorder fault.", func(s metricStats) uint64 { return s.Delayed }),
		metrics.Count("bytes_sent_total", "Encoded bytes of the messages accepted by Send.", func(s metricStats) uint64 { return s.BytesSent }),
	})
	return b.Collector(func(ch chan<- prometheus.Metric) { fields(ch, read()) })
}
