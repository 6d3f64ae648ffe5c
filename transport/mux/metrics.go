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
	fields := metrics.Fields(b, []metrics.Field[Stats]{
		metrics.Count("messages_delivered_total", "Messages delivered to a sub-endpoint.", func(s Stats) uint64 { return s.Delivered }),
		metrics.Count("messages_dropped_total", "Messages dropped: for a sub-address nobody listens on, or not in an envelope.", func(s Stats) uint64 { return s.Dropped }),
	})
	return b.Collector(func(ch chan<- prometheus.Metric) { fields(ch, t.Stats()) })
}
