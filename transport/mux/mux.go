package mux

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/chainrep/chain"
)

// DefaultInboxSize is the capacity of each endpoint's Receive channel when
// Options.InboxSize is not positive. It is smaller than the base
// transports' inboxes because a server has one channel per hosted replica,
// each allocated in full when the replica listens.
const DefaultInboxSize = 1024

// MaxSubLen is the longest sub-address, in bytes: the limit wire.Envelope
// puts on its sub-addresses.
const MaxSubLen = 1 << 10

// Options configures a Transport.
type Options struct {
	// InboxSize is the capacity of each endpoint's Receive channel. When it
	// is full, the dispatcher of the endpoint's base waits (backpressure).
	// Zero or less means DefaultInboxSize.
	InboxSize int
}

// Stats counts the messages the dispatchers of a Transport handled.
type Stats struct {
	// Delivered counts messages put into an endpoint's Receive channel.
	Delivered uint64
	// Dropped counts messages for a sub-address nobody listened on,
	// malformed envelopes, and messages whose endpoint closed while they
	// waited for room in its Receive channel.
	Dropped uint64
}

// Transport is a chain.Transport that multiplexes endpoints at
// sub-addresses over the endpoints of a base transport (see the package
// documentation). It is safe for concurrent use. Create it with New; it
// needs no closing of its own: closing every endpoint it opened releases
// everything, and closing the base transport ends its endpoints.
type Transport struct {
	base      chain.Transport
	inboxSize int

	delivered atomic.Uint64
	dropped   atomic.Uint64

	// mu guards the fields below and every shared's refs and closing.
	mu sync.Mutex
	// bases holds the shared listening base endpoints by their Addr. An
	// entry stays while its base endpoint closes, marked closing, so that
	// a Listen on that base waits until the address is free again.
	bases map[string]*shared
	// client is the shared base client endpoint, or nil.
	client     *shared
	nextClient uint64
}

var _ chain.Transport = (*Transport)(nil)

// New returns a Transport over base with default options.
func New(base chain.Transport) *Transport {
	return NewWithOptions(base, Options{})
}

// NewWithOptions returns a Transport over base configured by opts. A nil
// base is reported by Listen, as an error wrapping chain.ErrInvalidConfig.
func NewWithOptions(base chain.Transport, opts Options) *Transport {
	size := opts.InboxSize
	if size <= 0 {
		size = DefaultInboxSize
	}
	return &Transport{base: base, inboxSize: size, bases: make(map[string]*shared)}
}

// Stats returns the transport's counters, each read atomically.
func (t *Transport) Stats() Stats {
	return Stats{Delivered: t.delivered.Load(), Dropped: t.dropped.Load()}
}

// SplitAddr splits a mux address at its first "/" into the base
// transport's address and the sub-address; an address without a "/" has
// the sub-address "".
func SplitAddr(addr string) (base, sub string) {
	base, sub, _ = strings.Cut(addr, "/")
	return base, sub
}

// JoinAddr is the inverse of SplitAddr: base, or base/sub when sub is not
// empty.
func JoinAddr(base, sub string) string {
	if sub == "" {
		return base
	}
	return base + "/" + sub
}

// Listen opens an endpoint.
//
// A non-empty addr is "base/sub" or "base" (sub ""). The first endpoint on
// a base opens the base transport's endpoint with Listen(base), and later
// ones share it; it closes when the last of them closes. The endpoint's
// Addr is the base endpoint's Addr joined with sub, so "127.0.0.1:0/c1"
// over tcp opens a new port and reports it ("127.0.0.1:41234/c1"), and
// further subs join it at that reported address.
//
// An empty addr opens a client endpoint at a generated sub-address, unique
// on this Transport, behind the Transport's one shared base client
// endpoint.
//
// Listen returns an error wrapping chain.ErrInvalidArgument if sub is in
// use by an open endpoint of this Transport, if addr has an empty base
// ("/x") or a sub longer than MaxSubLen; the base transport's error if it
// cannot listen on base; and one wrapping chain.ErrClosed if the base
// endpoint was closed underneath (for example by closing the base
// transport) while other endpoints still share it.
func (t *Transport) Listen(addr string) (chain.Endpoint, error) {
	if t.base == nil {
		return nil, fmt.Errorf("mux: listen %q: %w: no base transport", addr, chain.ErrInvalidConfig)
	}
	if addr == "" {
		return t.listenClient()
	}
	base, sub := SplitAddr(addr)
	if base == "" {
		return nil, fmt.Errorf("mux: listen %q: %w: empty base address", addr, chain.ErrInvalidArgument)
	}
	if len(sub) > MaxSubLen {
		return nil, fmt.Errorf("mux: listen %q: %w: sub-address of %d bytes, over %d", addr, chain.ErrInvalidArgument, len(sub), MaxSubLen)
	}
	for {
		ep, gone, err := t.listenBase(addr, base, sub)
		if gone == nil {
			return ep, err
		}
		// The last endpoint on this base is closing it: wait until the
		// address is free, then open it again.
		<-gone
	}
}

// listenBase opens the endpoint at sub behind the shared base endpoint at
// base, opening that first if needed. If the shared base endpoint is
// closing, it returns the channel closed once it is gone instead.
func (t *Transport) listenBase(addr, base, sub string) (chain.Endpoint, <-chan struct{}, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sh := t.bases[base]
	if sh != nil && sh.closing {
		return nil, sh.gone, nil
	}
	if sh == nil {
		ep, err := t.base.Listen(base)
		if err != nil {
			return nil, nil, fmt.Errorf("mux: listen %q: %w", addr, err)
		}
		if err := checkBaseAddr(ep.Addr()); err != nil {
			_ = ep.Close()
			return nil, nil, fmt.Errorf("mux: listen %q: %w", addr, err)
		}
		if t.bases[ep.Addr()] != nil {
			// The base transport reused an address that is still open
			// here: it would not, but a mistake here must not merge two
			// base endpoints.
			_ = ep.Close()
			return nil, nil, fmt.Errorf("mux: listen %q: %w: base address %q in use", addr, chain.ErrInvalidArgument, ep.Addr())
		}
		sh = newShared(t, ep, false)
		t.bases[ep.Addr()] = sh
	}
	e, err := t.addLocked(sh, addr, sub)
	return e, nil, err
}

// listenClient opens a client endpoint behind the shared base client
// endpoint.
func (t *Transport) listenClient() (chain.Endpoint, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sh := t.client
	if sh == nil {
		ep, err := t.base.Listen("")
		if err != nil {
			return nil, fmt.Errorf("mux: listen client: %w", err)
		}
		if err := checkBaseAddr(ep.Addr()); err != nil {
			_ = ep.Close()
			return nil, fmt.Errorf("mux: listen client: %w", err)
		}
		sh = newShared(t, ep, true)
		t.client = sh
	}
	t.nextClient++
	return t.addLocked(sh, "", strconv.FormatUint(t.nextClient, 10))
}

// checkBaseAddr checks an address the base transport gave an endpoint: it
// must be non-empty and hold no "/", or mux addresses built on it would
// split wrongly.
func checkBaseAddr(addr string) error {
	if addr == "" || strings.Contains(addr, "/") {
		return fmt.Errorf("%w: base transport gave the unusable address %q (empty, or holding a \"/\")", chain.ErrInvalidConfig, addr)
	}
	return nil
}

// release drops one reference to sh, held by an endpoint that closed. The
// last reference closes the base endpoint and waits for the dispatcher to
// stop.
func (t *Transport) release(sh *shared) {
	t.mu.Lock()
	sh.refs--
	if sh.refs > 0 {
		t.mu.Unlock()
		return
	}
	sh.closing = true
	if t.client == sh {
		// A new client endpoint gets a new base client endpoint at once:
		// its address differs, so nothing needs to wait.
		t.client = nil
	}
	t.mu.Unlock()

	_ = sh.ep.Close()
	<-sh.stopped

	t.mu.Lock()
	if !sh.client && t.bases[sh.ep.Addr()] == sh {
		delete(t.bases, sh.ep.Addr())
	}
	t.mu.Unlock()
	close(sh.gone)
}

// addLocked opens the endpoint at sub behind sh and takes a reference to
// sh for it. If it fails and sh has no other reference, it closes sh. t.mu
// must be held.
func (t *Transport) addLocked(sh *shared, addr, sub string) (chain.Endpoint, error) {
	e, err := sh.add(sub)
	if err == nil {
		sh.refs++
		return e, nil
	}
	if sh.refs == 0 {
		// sh was opened for this endpoint: close it again. Its dispatcher
		// takes no lock of t's, so waiting for it here is safe.
		sh.closing = true
		if t.client == sh {
			t.client = nil
		}
		_ = sh.ep.Close()
		<-sh.stopped
		if !sh.client && t.bases[sh.ep.Addr()] == sh {
			delete(t.bases, sh.ep.Addr())
		}
		close(sh.gone)
	}
	if addr == "" {
		return nil, fmt.Errorf("mux: listen client: %w", err)
	}
	return nil, fmt.Errorf("mux: listen %q: %w", addr, err)
}
