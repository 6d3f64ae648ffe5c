// Package tcp provides a chain.Transport over TCP, with optional mutual TLS.
//
// # Connections
//
// An endpoint opens one connection to each address it sends to, lazily, on
// the first Send, and that connection carries every message from the
// endpoint to that address: requests of all kinds, many at once, matched to
// their responses by ID at the layer above (multiplexing and pipelining).
// Messages to one address leave in the order Send queued them. Messages
// the other way travel on the connection the other endpoint opens, except
// for client endpoints (Listen("")), which cannot be dialed: a server sends
// to a client over the connection the client opened to it, found by the
// address the client named in its hello.
//
// # Wire format
//
// Every frame is a 4-byte big-endian length followed by that many bytes.
// The first frame of a connection is a hello naming the dialing endpoint's
// address; every later frame is a message, the bytes of wire.EncodeMessage,
// or a keepalive. A receiver checks each length against MaxFrameSize before
// it allocates anything, and reports messages as coming from the address
// in the hello (on accepted connections) or the address dialed (on dialed
// ones). With TLS, the hello's address is checked against the peer's
// certificate (see DefaultVerifyPeer) before any message is read, a
// dialing side checks that the certificate of the endpoint it dialed lists
// the address dialed (when it names a chain role), and every message is
// delivered with the peer's verified identity (chain.Inbound.Peer, read
// from its certificate: see package auth), for receivers to authorize.
// Without TLS, Peer is nil: plain TCP authenticates nothing.
//
// # Queues, batching and backpressure
//
// Each connection has a bounded send queue (Options.SendQueue) drained by
// one writer goroutine, which encodes messages into a reused buffer, writes
// them into a buffered writer and flushes only when the queue is empty, so
// a burst goes out in few system calls. Send to a dialable address blocks
// while the queue is full, until ctx is done. Send to a client never
// blocks, so that no goroutine answering clients waits on one: beyond the
// queue, a bounded backlog holds its messages, and a client whose backlog
// is full (in messages, or in bytes: Options.ClientBacklogBytes) has
// stopped reading and is disconnected. Each connection has a reader goroutine that
// delivers to the endpoint's Receive channel (Options.InboxSize) and stops
// reading while it is full, so a slow receiver slows its senders down
// through TCP flow control rather than growing memory.
//
// An endpoint holds at most Options.MaxConns accepted connections, and
// Options.MaxConnsPerHost from one remote host; one beyond is closed before
// its handshake. A connection that says nothing is closed after
// DialTimeout (no hello) or ReadIdleTimeout (nothing since).
//
// # Failures: best effort
//
// Delivery is best effort, as the chain.Transport contract allows; the
// protocol above retries. A message is lost if its connection fails after
// it was taken from the queue. A failed attempt to connect drops every
// message queued for that peer, and later attempts wait an exponential
// backoff (Options.ReconnectBackoffMin to ReconnectBackoffMax) before
// dialing again; while a peer is unreachable, Send does not block for it but
// drops what finds its queue full. Messages to a client address with no
// open connection are dropped. Drops are counted in Stats.
//
// Close stops everything: no goroutine outlives Endpoint.Close or
// Transport.Close.
package tcp
