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
	conns := b.Desc("connections", "TCP connections open now, dialed and accepted.")
	sent := b.Desc("messages_sent_total", "Messages written to connections (one frame each).")
	received := b.Desc("messages_received_total", "Messages read from connections (one frame each).")
	dropped := b.Desc("messages_dropped_total", "Messages discarded before being written: peer unreachable, no route back to a client, or too large.")
	bytesSent := b.Desc("bytes_sent_total", "Bytes of the frames written, headers included.")
	bytesReceived := b.Desc("bytes_received_total", "Bytes of the frames read, headers included.")
	dials := b.Desc("dials_total", "Attempts to connect to a peer.")
	dialFailures := b.Desc("dial_failures_total", "Attempts to connect to a peer that failed (dial, TLS handshake or hello).")
	rejected := b.Desc("connections_rejected_total", "Accepted connections closed before any message: failed TLS handshakes, bad hellos, refused peers.")
	return b.Collector(func(ch chan<- prometheus.Metric) {
		s := t.Stats()
		metrics.Gauge(ch, conns, float64(s.Conns))
		metrics.Counter(ch, sent, s.Sent)
		metrics.Counter(ch, received, s.Received)
		metrics.Counter(ch, dropped, s.Dropped)
		metrics.Counter(ch, bytesSent, s.BytesSent)
		metrics.Counter(ch, bytesReceived, s.BytesReceived)
		metrics.Counter(ch, dials, s.Dials)
		metrics.Counter(ch, dialFailures, s.DialFailures)
		metrics.Counter(ch, rejected, s.Rejected)
	})
}
