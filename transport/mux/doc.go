// Package mux multiplexes many endpoints over one endpoint of another
// chain.Transport, so that one server process can host replicas of many
// chains behind a single listening address (one TCP port, say).
//
// # Why
//
// A server in a partitioned cluster hosts a replica of each of many chains.
// Giving every replica its own port would multiply listeners, connections
// and keepalives by the number of chains; instead the server listens once,
// and every message names the replica it is for. Wrapping the server's
// transport with New gives each replica a chain.Endpoint of its own, so
// chain.Node and chain.Client run on it unchanged.
//
// # Addresses
//
// A mux address is "base/sub": base is an address of the wrapped (base)
// transport, sub names one endpoint behind it, typically a chain id
// (wire.ReplicaAddr builds such addresses: "127.0.0.1:7101/c3"). The
// address is split at its first "/", so base must not contain one (neither
// the inmem nor the tcp transport's addresses do) while sub may. A plain
// "base" (or "base/") is the sub-address "": the base address itself.
//
// All endpoints with the same base share one endpoint of the base
// transport, opened by the first Listen on that base and closed when the
// last of them closes (reference counting). Listen("") opens a client
// endpoint: all client endpoints of one Transport share one client endpoint
// of the base transport, and each gets a generated sub-address ("1", "2",
// ...) behind it, so its address is the base client address, a slash and
// that number. Client endpoints can send only to peers that understand
// envelopes (mux endpoints), since replies to them must name their sub.
//
// # Wire
//
// Between sub-addresses, a message travels wrapped in a wire.Envelope
// naming the sender's and the receiver's sub-address. A message from sub ""
// to sub "" travels unwrapped, so a mux endpoint at a plain base address
// interoperates with endpoints that do not use mux at all: an unwrapped
// message that arrives is delivered to sub "" with its From unchanged.
//
// # Delivery
//
// One dispatcher goroutine per base endpoint reads the base endpoint's
// messages and hands each to the endpoint its envelope names, through that
// endpoint's bounded Receive channel (Options.InboxSize). When the channel
// is full the dispatcher waits, which stops it reading the base endpoint
// and so applies the base transport's backpressure to the senders: a
// receiver that stops reading holds up every endpoint on its base, so
// every endpoint must keep draining its Receive channel (chain.Node and
// chain.Client do). The dispatcher never waits for an endpoint that is
// closing. Messages for a sub-address nobody listens on, and malformed
// envelopes, are dropped and counted in Stats; delivery stays best effort,
// as chain.Transport allows.
//
// A Transport has no global state, and no goroutine of it outlives the
// Close of the last endpoint sharing a base endpoint.
package mux
