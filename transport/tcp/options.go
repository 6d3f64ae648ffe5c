package tcp

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// Defaults for the zero values of Options.
const (
	DefaultDialTimeout         = 5 * time.Second
	DefaultWriteTimeout        = 10 * time.Second
	DefaultReadIdleTimeout     = time.Minute
	DefaultSendQueue           = 1024
	DefaultInboxSize           = 4096
	DefaultReconnectBackoffMin = 20 * time.Millisecond
	DefaultReconnectBackoffMax = 2 * time.Second
	DefaultMaxConns            = 4096
	DefaultMaxConnsPerHost     = 1024
	DefaultClientBacklogBytes  = 64 << 20
)

// minFrameSize is the smallest MaxFrameSize accepted: room for any hello.
const minFrameSize = 1024

// Options configures a Transport. The zero value is usable: plain TCP with
// the defaults above. For every duration, zero means its default; a
// negative DialTimeout, WriteTimeout or ReadIdleTimeout means no deadline
// (and, for ReadIdleTimeout, no keepalive), a negative ReconnectBackoffMin
// means no minimum.
type Options struct {
	// TLS, when set, turns on TLS for every connection, accepted and
	// dialed. The same config serves both sides: the server side uses
	// Certificates (or GetCertificate), ClientCAs and ClientAuth; the
	// client side uses Certificates as its client certificate and RootCAs,
	// and ServerName defaults to the host of the dialed address. Set
	// ClientAuth to tls.RequireAndVerifyClientCert for mutual TLS, which is
	// what node-to-node traffic needs under the default VerifyPeer. The
	// config must not be modified after New.
	TLS *tls.Config
	// ClientTLS, when set with TLS, is called for each connection this
	// transport dials, and its config is used for it instead of TLS: a
	// config whose certificate and CAs change without a restart (see
	// internal/tlsreload) serves accepted connections through TLS's
	// GetConfigForClient, and dialed ones through ClientTLS, since a
	// tls.Config cannot look up its RootCAs per handshake. Connections
	// already open are unaffected.
	ClientTLS func() *tls.Config
	// VerifyPeer checks, on an accepted TLS connection, that the peer may
	// claim the address named in its hello; a non-nil error closes the
	// connection before any message on it is delivered. It is called once
	// per connection, from the connection's goroutine. Nil means
	// DefaultVerifyPeer. It is not called without TLS: plain TCP trusts the
	// claimed address.
	VerifyPeer func(claimedAddr string, cs tls.ConnectionState) error
	// MaxFrameSize bounds one frame (one encoded message) in bytes, both
	// ways: a longer incoming frame closes its connection before anything
	// is allocated for it, and a longer outgoing message is dropped and
	// logged. Zero means wire.MaxMessageSize, which is also the maximum.
	MaxFrameSize int
	// DialTimeout bounds establishing a connection: the TCP dial, the TLS
	// handshake and the hello, on both the dialing and the accepting side.
	DialTimeout time.Duration
	// WriteTimeout bounds each write to a socket. A peer that takes longer
	// to accept bytes is treated as failed: its connection is closed and
	// what was in flight on it is lost.
	WriteTimeout time.Duration
	// ReadIdleTimeout closes an accepted connection on which nothing has
	// arrived for that long. Dialing sides send a keepalive frame after
	// ReadIdleTimeout/3 of silence, so peers configured alike keep idle
	// connections open and detect dead ones.
	ReadIdleTimeout time.Duration
	// MaxConns bounds the connections an endpoint has accepted and not yet
	// closed, and MaxConnsPerHost those from one remote IP address; a
	// connection beyond either is closed at once, before its handshake, so
	// that idle or hostile connections cannot exhaust the endpoint's
	// goroutines and memory. Zero means the default; negative, no limit.
	MaxConns        int
	MaxConnsPerHost int
	// SendQueue is the number of messages queued per connection (per
	// destination address) before Send to a dialable address blocks. Send
	// to a client (a reply over the connection the client opened) never
	// blocks: up to 16 times SendQueue more messages wait in a backlog, and
	// a client whose backlog is full is not reading: its connection is
	// closed.
	SendQueue int
	// ClientBacklogBytes bounds, in bytes (as wire.SizeHint counts them),
	// the replies waiting for one client, queued and in its backlog: a
	// client with more waiting is not reading, and its connection is
	// closed as when its backlog is full. A reply larger than the bound is
	// still sent when nothing else waits for the client. Zero means
	// DefaultClientBacklogBytes; negative, no bound but SendQueue's.
	ClientBacklogBytes int
	// InboxSize is the capacity of each endpoint's Receive channel. When it
	// is full, connections stop reading, which pushes back on the senders.
	InboxSize int
	// ReconnectBackoffMin and ReconnectBackoffMax bound the exponential
	// backoff between failed attempts to connect to a peer (or connections
	// that failed within a second). Max must not be below Min.
	ReconnectBackoffMin time.Duration
	ReconnectBackoffMax time.Duration
	// Logger receives connection events: Debug for routine ones, Warn for
	// rejected peers and messages too large to send. Nil discards them.
	Logger *slog.Logger
}

// withDefaults returns o with defaults filled in, or an error wrapping
// chain.ErrInvalidConfig.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxFrameSize == 0:
		o.MaxFrameSize = wire.MaxMessageSize
	case o.MaxFrameSize < minFrameSize || o.MaxFrameSize > wire.MaxMessageSize:
		return o, fmt.Errorf("tcp: options: %w: MaxFrameSize %d outside [%d, %d]",
			chain.ErrInvalidConfig, o.MaxFrameSize, minFrameSize, wire.MaxMessageSize)
	}
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&o.DialTimeout, DefaultDialTimeout},
		{&o.WriteTimeout, DefaultWriteTimeout},
		{&o.ReadIdleTimeout, DefaultReadIdleTimeout},
		{&o.ReconnectBackoffMin, DefaultReconnectBackoffMin},
		{&o.ReconnectBackoffMax, DefaultReconnectBackoffMax},
	} {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if o.ReconnectBackoffMin < 0 {
		o.ReconnectBackoffMin = 0
	}
	if o.ReconnectBackoffMax < o.ReconnectBackoffMin {
		return o, fmt.Errorf("tcp: options: %w: ReconnectBackoffMax %v below ReconnectBackoffMin %v",
			chain.ErrInvalidConfig, o.ReconnectBackoffMax, o.ReconnectBackoffMin)
	}
	if o.SendQueue == 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.InboxSize == 0 {
		o.InboxSize = DefaultInboxSize
	}
	if o.SendQueue < 0 || o.InboxSize < 0 {
		return o, fmt.Errorf("tcp: options: %w: negative SendQueue %d or InboxSize %d",
			chain.ErrInvalidConfig, o.SendQueue, o.InboxSize)
	}
	if o.ClientBacklogBytes == 0 {
		o.ClientBacklogBytes = DefaultClientBacklogBytes
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerHost == 0 {
		o.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// keepaliveInterval is how long a dialed connection may stay silent before
// its writer sends a keepalive frame; zero means never.
func (o *Options) keepaliveInterval() time.Duration {
	if o.ReadIdleTimeout <= 0 {
		return 0
	}
	return o.ReadIdleTimeout / 3
}
