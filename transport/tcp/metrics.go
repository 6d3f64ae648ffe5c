package tcp

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// Collector returns a Prometheus collector of the transport's Stats, read
// when scraped, for the embedding program to register on its own
// registry. The metrics carry no constant labels: to register the
// collectors of several transports on one registry, wrap them with
// prometheus.WrapRegistererWith.
func (t *Transport) Collector() prometheus.Collector {
	b := metrics.NewBuilder("tcp", nil)
	fields := metrics.Fields(b, []metrics.Field[Stats]{
		metrics.Level("connections", "TCP connections open now, dialed and accepted.", func(s Stats) float64 { return float64(s.Conns) }),
		metrics.Count("messages_sent_total", "Messages written to connections (one frame each).", func(s Stats) uint64 { return s.Sent }),
		metrics.Count("messages_received_total", "Messages read from connections (one frame each).", func(s Stats) uint64 { return s.Received }),
		metrics.Count("messages_dropped_total", "Messages discarded before being written: peer unreachable, no route back to a client, or too large.", func(s Stats) uint64 { return s.Dropped }),
		metrics.Count("bytes_sent_total", "Bytes of the frames written, headers included.", func(s Stats) uint64 { return s.BytesSent }),
		metrics.Count("bytes_received_total", "Bytes of the frames read, headers included.", func(s Stats) uint64 { return s.BytesReceived }),
		metrics.Count("dials_total", "Attempts to connect to a peer.", func(s Stats) uint64 { return s.Dials }),
		metrics.Count("dial_failures_total", "Attempts to connect to a peer that failed (dial, TLS handshake or hello).", func(s Stats) uint64 { return s.DialFailures }),
		metrics.Count("connections_rejected_total", "Accepted connections closed before any message: failed TLS handshakes, bad hellos, refused peers.", func(s Stats) uint64 { return s.Rejected }),
	})
	return b.Collector(func(ch chan<- prometheus.Metric) { fields(ch, t.Stats()) })
}
