package chain

import (
	"context"

	"github.com/chainrep/chain/auth"
)

// Transport connects nodes to each other and clients to nodes. It carries
// Messages between endpoints named by address.
//
// Delivery is best effort, as on a network: a message may be lost,
// duplicated, delayed or reordered, and the protocol recovers from each by
// retrying and by de-duplicating. A transport may batch, pipeline and
// multiplex messages as it likes, and must not deliver a message that was
// not sent.
type Transport interface {
	// Listen opens the endpoint at addr and starts receiving messages sent
	// to it. An empty addr opens a client endpoint with a unique generated
	// address that need not be reachable by dialing: messages to it travel
	// back over the connections it opened. Listen fails if addr is in use.
	Listen(addr string) (Endpoint, error)
}

// Endpoint is one open address of a Transport.
type Endpoint interface {
	// Addr returns the endpoint's address, which peers use to reply.
	Addr() string
	// Send queues msg for delivery to the endpoint at addr. It may block
	// while the transport applies backpressure, at most until ctx is done.
	// A nil error means the message was queued, not that it arrived. The
	// caller must not modify msg after Send returns.
	Send(ctx context.Context, to string, msg Message) error
	// Receive returns the channel on which incoming messages arrive. It is
	// closed after Close.
	Receive() <-chan Inbound
	// Close stops the endpoint. Messages queued to it are discarded.
	Close() error
}

// Inbound is a received message, the address of its sender and, when the
// transport authenticates its peers, the sender's verified identity.
type Inbound struct {
	From string
	Msg  Message
	// Peer is the sender's identity as the transport verified it (from
	// its TLS certificate, with From among its addresses when From is
	// dialable), or nil when the transport authenticates nothing (the
	// in-memory transport, TCP without TLS). Receivers act only on what
	// auth.Authorize allows from it.
	Peer *auth.Identity
}
