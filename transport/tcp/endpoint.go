package tcp

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/chainrep/chain"
)

// endpoint is one open address of a Transport. It implements
// chain.Endpoint.
type endpoint struct {
	tr    *Transport
	opts  *Options
	log   *slog.Logger
	stats *counters
	addr  string
	ln    net.Listener // nil for a client endpoint
	inbox chan chain.Inbound

	// ctx is cancelled by Close; every goroutine of the endpoint stops on
	// it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the endpoint's goroutines. A goroutine is added only with
	// mu held and closed false, or by a goroutine already counted, so no
	// Add races with Close's Wait.
	wg        sync.WaitGroup
	closeOnce sync.Once

	// mu guards the fields below.
	mu     sync.Mutex
	closed bool
	peers  map[string]*peer
	routes map[string]*route
	conns  map[*conn]struct{}
	// accepted counts the accepted connections not yet closed, in total
	// and by remote host (Options.MaxConns, MaxConnsPerHost).
	accepted       int
	acceptedByHost map[string]int
	refusedLogged  time.Time // when a refusal was last logged
}

var _ chain.Endpoint = (*endpoint)(nil)

func newEndpoint(tr *Transport, addr string, ln net.Listener) *endpoint {
	ctx, cancel := context.WithCancel(context.Background())
	return &endpoint{
		tr:     tr,
		opts:   &tr.opts,
		log:    tr.opts.Logger,
		stats:  &tr.stats,
		addr:   addr,
		ln:     ln,
		inbox:  make(chan chain.Inbound, tr.opts.InboxSize),
		ctx:    ctx,
		cancel: cancel,
		peers:  make(map[string]*peer),
		routes: make(map[string]*route),
		conns:  make(map[*conn]struct{}),

		acceptedByHost: make(map[string]int),
	}
}

// start starts the accept loop of a listening endpoint.
func (e *endpoint) start() {
	if e.ln != nil {
		e.wg.Add(1)
		go e.acceptLoop(e.ln)
	}
}

// Addr returns the endpoint's address: for a listening endpoint, the
// address given to Listen with a zero port replaced by the bound one; for a
// client endpoint, its generated address.
func (e *endpoint) Addr() string { return e.addr }

// Receive returns the endpoint's inbox. Close closes it once every
// goroutine of the endpoint has stopped; messages already in it stay
// readable after that.
func (e *endpoint) Receive() <-chan chain.Inbound { return e.inbox }

// Send queues msg for the endpoint at to, and returns once it is queued.
// The message is encoded later, by the connection's writer, so the caller
// must not modify it after Send returns.
//
// To a dialable address (host:port), the message goes on the connection
// this endpoint opens to it, dialed on first use and redialed after
// failures. To a client address (see IsClientAddr), it goes back over the
// connection that client opened to this endpoint; if there is none, the
// message is dropped.
//
// Send blocks while the destination's queue is full (backpressure from a
// slow peer), at most until ctx is done, and then returns ctx's error
// wrapped. It does not block for a peer that cannot be reached: while the
// last attempt to connect to it failed, a message that finds its queue full
// is dropped. Send returns nil for a message dropped or lost later
// (delivery is best effort), an error wrapping chain.ErrClosed after Close,
// an error wrapping chain.ErrInvalidArgument for a nil message or an
// address that is neither a client address nor host:port, and ctx's error,
// without queueing, if ctx is already done.
func (e *endpoint) Send(ctx context.Context, to string, msg chain.Message) error {
	if msg == nil {
		return fmt.Errorf("tcp: send from %q to %q: %w: nil message", e.addr, to, chain.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tcp: send from %q to %q: %w", e.addr, to, err)
	}
	if err := checkPeerAddr(to); err != nil {
		return fmt.Errorf("tcp: send from %q: %w", e.addr, err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return fmt.Errorf("tcp: send from %q to %q: endpoint %w", e.addr, to, chain.ErrClosed)
	}
	if IsClientAddr(to) {
		r := e.routes[to]
		e.mu.Unlock()
		if r == nil {
			e.stats.dropped.Add(1)
			return nil
		}
		r.enqueue(e, msg)
		return nil
	}
	p := e.peers[to]
	if p == nil {
		p = newPeer(e, to)
		e.peers[to] = p
		e.wg.Add(1)
		go p.run()
	}
	p.pending.Add(1)
	e.mu.Unlock()
	err := p.enqueue(ctx, msg)
	p.pending.Add(-1)
	return err
}

// Close closes the listener and every connection, discards queued
// messages, waits for the endpoint's goroutines to stop, then closes the
// Receive channel and frees the address. It is idempotent; concurrent
// calls all return once the endpoint is closed. It returns nil.
func (e *endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		conns := slices.Collect(maps.Keys(e.conns))
		e.mu.Unlock()

		e.cancel()
		if e.ln != nil {
			_ = e.ln.Close()
		}
		for _, c := range conns {
			c.close()
		}
		e.wg.Wait()
		close(e.inbox)
		e.tr.remove(e)
	})
	return nil
}

// track registers c so that Close closes it. It returns false, having
// closed c, if the endpoint is closed.
func (e *endpoint) track(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		c.close()
		return false
	}
	e.conns[c] = struct{}{}
	e.stats.conns.Add(1)
	return true
}

// untrack forgets c.
func (e *endpoint) untrack(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.conns[c]; ok {
		delete(e.conns, c)
		e.stats.conns.Add(-1)
	}
}
