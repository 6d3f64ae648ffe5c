package mux

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// Collector returns a Prometheus collector of the transport's Stats, read
// when scraped, for the embedding program to register on its own
// registry (the base transport has its own collector). The metrics carry
// no constant labels.
func (t *Transport) Collector() prometheus.Collector {
	b := metrics.NewBuilder("mux", nil)
	delivered := b.Desc("messages_delivered_total", "Messages delivered to a sub-endpoint.")
	dropped := b.Desc("messages_dropped_total", "Messages dropped: for a sub-address nobody listens on, or not in an envelope.")
	return b.Collector(func(ch chan<- prometheus.Metric) {
		s := t.Stats()
		metrics.Counter(ch, delivered, s.Delivered)
		metrics.Counter(ch, dropped, s.Dropped)
	})
}
