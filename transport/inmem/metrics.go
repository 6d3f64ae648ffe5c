package inmem

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// Collector returns a Prometheus collector of the network's Stats and
// open endpoints, read when scraped, for the embedding program (or test)
// to register on its own registry. The metrics carry no constant labels.
func (n *Network) Collector() prometheus.Collector {
	b := metrics.NewBuilder("inmem", nil)
	endpoints := b.Desc("endpoints", "Endpoints open on the network now.")
	sent := b.Desc("messages_sent_total", "Messages accepted by Send.")
	delivered := b.Desc("messages_delivered_total", "Copies of messages put into an inbox.")
	dropped := b.Desc("messages_dropped_total", "Copies lost to partitions, faults, or unknown and closed addresses.")
	overflow := b.Desc("messages_overflow_total", "Copies lost to a full inbox.")
	duplicated := b.Desc("messages_duplicated_total", "Extra copies made by the Duplicate fault.")
	delayed := b.Desc("messages_delayed_total", "Copies held back by the Delay or Reorder fault.")
	bytesSent := b.Desc("bytes_sent_total", "Encoded bytes of the messages accepted by Send.")
	return b.Collector(func(ch chan<- prometheus.Metric) {
		s := n.Stats()
		n.mu.Lock()
		open := len(n.endpoints)
		n.mu.Unlock()
		metrics.Gauge(ch, endpoints, float64(open))
		metrics.Counter(ch, sent, s.Sent)
		metrics.Counter(ch, delivered, s.Delivered)
		metrics.Counter(ch, dropped, s.Dropped)
		metrics.Counter(ch, overflow, s.Overflow)
		metrics.Counter(ch, duplicated, s.Duplicated)
		metrics.Counter(ch, delayed, s.Delayed)
		metrics.Counter(ch, bytesSent, s.BytesSent)
	})
}
