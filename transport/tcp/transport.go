package tcp

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"

	"github.com/chainrep/chain"
)

// Transport is a chain.Transport over TCP, optionally with TLS. It is safe
// for concurrent use. Create it with New; close it with Close.
type Transport struct {
	opts Options
	// err is the options' validation error, returned by Listen.
	err   error
	stats counters

	mu        sync.Mutex
	closed    bool
	endpoints map[*endpoint]struct{}
}

var _ chain.Transport = (*Transport)(nil)

// New returns a Transport configured by opts. Invalid options are reported
// by Listen, as an error wrapping chain.ErrInvalidConfig.
func New(opts Options) *Transport {
	o, err := opts.withDefaults()
	return &Transport{opts: o, err: err, endpoints: make(map[*endpoint]struct{})}
}

// Listen opens an endpoint.
//
// A non-empty addr is a host:port to listen on, on all of the host's
// addresses when host is empty. Port 0 picks a free port, and the endpoint's
// Addr reports it: Listen("127.0.0.1:0") returns an endpoint whose Addr is
// "127.0.0.1:41234", say. Addr is what peers are told in the hello and reply
// to, so addr should name the host as peers can dial it (and, with TLS, as
// the endpoint's certificate names it).
//
// An empty addr opens a client endpoint, which listens on nothing: its
// address is "client-" followed by 32 random hex digits (see IsClientAddr),
// it can send only to dialable addresses, and replies to it come back over
// the connections it opened.
//
// Listen fails if addr is in use or cannot be listened on, with an error
// wrapping chain.ErrInvalidConfig if the options are invalid, and with one
// wrapping chain.ErrClosed after Close.
func (t *Transport) Listen(addr string) (chain.Endpoint, error) {
	if t.err != nil {
		return nil, t.err
	}
	var ln net.Listener
	epAddr := addr
	if addr == "" {
		epAddr = newClientAddr()
	} else {
		if len(addr) > maxAddrLen {
			return nil, fmt.Errorf("tcp: listen: %w: address of %d bytes", chain.ErrInvalidArgument, len(addr))
		}
		var err error
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("tcp: listen %q: %w", addr, err)
		}
		epAddr = advertisedAddr(addr, ln.Addr())
	}
	ep := newEndpoint(t, epAddr, ln)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		if ln != nil {
			_ = ln.Close()
		}
		return nil, fmt.Errorf("tcp: listen %q: transport %w", addr, chain.ErrClosed)
	}
	t.endpoints[ep] = struct{}{}
	ep.start()
	return ep, nil
}

// Close closes every open endpoint (see the Endpoint's Close) and makes
// later calls to Listen fail. It waits for every goroutine of the transport
// to stop. It is idempotent and returns nil.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	eps := slices.Collect(maps.Keys(t.endpoints))
	t.mu.Unlock()
	for _, ep := range eps {
		_ = ep.Close()
	}
	return nil
}

// remove forgets a closed endpoint.
func (t *Transport) remove(ep *endpoint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.endpoints, ep)
}
