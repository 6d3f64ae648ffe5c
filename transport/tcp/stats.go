package tcp

import "sync/atomic"

// Stats counts events on a Transport's endpoints since New.
type Stats struct {
	// Sent counts messages written to a connection. A message written to
	// a connection that then fails may still be lost.
	Sent uint64
	// Dropped counts messages discarded before being written: queued for a
	// peer that could not be reached, addressed to a client with no
	// connection, or too large to send.
	Dropped uint64
	// Dials counts attempts to connect to a peer, and DialFailures those
	// that failed (including TLS handshakes and hellos that failed, and
	// endpoints whose certificate does not list the address dialed).
	Dials        uint64
	DialFailures uint64
	// Rejected counts accepted connections closed before any message was
	// read: failed TLS handshakes, malformed hellos and peers refused by
	// VerifyPeer.
	Rejected uint64
	// Received counts messages read from connections.
	Received uint64
	// BytesSent and BytesReceived count the bytes of the frames written
	// and read after the hello (messages and keepalives, frame headers
	// included; TLS records not).
	BytesSent, BytesReceived uint64
	// Conns is the number of connections open now, dialed and accepted.
	Conns int64
}

// counters are the live counters behind Stats.
type counters struct {
	sent, dropped, dials, dialFailures, rejected atomic.Uint64
	received, bytesSent, bytesReceived           atomic.Uint64
	conns                                        atomic.Int64
}

// Stats returns the transport's counters, each read atomically.
func (t *Transport) Stats() Stats {
	return Stats{
		Sent:          t.stats.sent.Load(),
		Dropped:       t.stats.dropped.Load(),
		Dials:         t.stats.dials.Load(),
		DialFailures:  t.stats.dialFailures.Load(),
		Rejected:      t.stats.rejected.Load(),
		Received:      t.stats.received.Load(),
		BytesSent:     t.stats.bytesSent.Load(),
		BytesReceived: t.stats.bytesReceived.Load(),
		Conns:         t.stats.conns.Load(),
	}
}
