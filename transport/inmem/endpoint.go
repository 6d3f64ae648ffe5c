package inmem

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// endpoint is one open address of a Network. It implements chain.Endpoint.
type endpoint struct {
	net   *Network
	addr  string
	inbox chan chain.Inbound

	// mu guards closed, the inbox channel's sends and close, and timers.
	// A send on inbox happens only with mu held and closed false, so the
	// channel is never sent on after it is closed.
	mu        sync.Mutex
	closed    bool
	nextTimer uint64
	// timers holds the pending delayed deliveries to this endpoint. A
	// delivery is in the map until it fires or Close discards it; a timer
	// callback that finds its entry gone does nothing.
	timers map[uint64]*time.Timer
	// held is set while the endpoint's address is held (Network.Hold):
	// arriving messages wait in heldIn instead of the inbox.
	held   bool
	heldIn []chain.Inbound
	// generated marks an address Listen generated (a client's); dialed
	// holds the addresses it has sent to, which alone reach it when the
	// network delivers to clients over their own connections only (see
	// Network.SetDialedOnly). Set at Listen; dialed is guarded by mu.
	generated bool
	dialed    map[string]struct{}
}

var _ chain.Endpoint = (*endpoint)(nil)

// delivery is one copy of a routed message and how long to hold it back.
type delivery struct {
	delay time.Duration
}

func newEndpoint(n *Network, addr string, inboxSize int) *endpoint {
	return &endpoint{
		net:    n,
		addr:   addr,
		inbox:  make(chan chain.Inbound, inboxSize),
		timers: make(map[uint64]*time.Timer),
	}
}

// Addr returns the endpoint's address.
func (e *endpoint) Addr() string { return e.addr }

// Receive returns the endpoint's inbox. It is closed, exactly once, by
// Close or by closing the Network.
func (e *endpoint) Receive() <-chan chain.Inbound { return e.inbox }

// Send encodes msg and routes it to the endpoint at to. It never blocks.
//
// Send returns an error wrapping chain.ErrClosed if this endpoint is closed,
// ctx's error if ctx is already done, and the encoding error if msg cannot
// be encoded; in those cases nothing is sent. Otherwise it returns nil,
// whether the message will arrive or not: messages to unknown or closed
// addresses, across partitions, dropped by faults or reaching a full inbox
// are discarded silently and counted in Stats. The receiver gets a decoded
// copy, so msg may be modified after Send returns.
func (e *endpoint) Send(ctx context.Context, to string, msg chain.Message) error {
	if e.isClosed() {
		return fmt.Errorf("inmem: send from %q to %q: endpoint %w", e.addr, to, chain.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: send from %q to %q: %w", e.addr, to, err)
	}
	encoded, err := wire.EncodeMessage(nil, msg)
	if err != nil {
		return fmt.Errorf("inmem: send from %q to %q: %w", e.addr, to, err)
	}
	if tap := e.net.tap.Load(); tap != nil {
		(*tap)(e.addr, to, msg)
	}
	e.noteDialed(to)
	kind := kindOf(msg)
	if e.net.holdSend(e.addr, to, kind, encoded) {
		return nil
	}
	return e.dispatch(to, kind, encoded)
}

// kindOf returns the kind of msg, or of the message an envelope carries.
func kindOf(msg chain.Message) wire.MessageKind {
	if env, ok := msg.(*wire.Envelope); ok && env.Msg != nil {
		return env.Msg.Kind()
	}
	return msg.Kind()
}

// dispatch routes the encoded message, of the given kind, from e to
// the endpoint at to and delivers its copies.
func (e *endpoint) dispatch(to string, kind wire.MessageKind, encoded []byte) error {
	e.net.stats.bytesSent.Add(uint64(len(encoded)))
	dst, copies := e.net.route(e.addr, to, kind)
	for i, c := range copies {
		// Decode once per copy so that duplicates share no memory either.
		m, err := wire.DecodeMessage(encoded)
		if err != nil {
			// Count the copies that will not be delivered, then report.
			e.net.stats.dropped.Add(uint64(len(copies) - i))
			return fmt.Errorf("inmem: send from %q to %q: %w", e.addr, to, err)
		}
		in := chain.Inbound{From: e.addr, Msg: m}
		if c.delay > 0 {
			dst.deliverAfter(c.delay, in)
		} else {
			dst.deliver(in)
		}
	}
	return nil
}

// Close closes the endpoint: it frees its address, closes the Receive
// channel and discards messages not yet delivered, including pending delayed
// deliveries. Messages already in the inbox remain readable until the
// channel is drained. Close is idempotent and always returns nil.
func (e *endpoint) Close() error {
	e.net.remove(e)
	e.shutdown()
	return nil
}

func (e *endpoint) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// shutdown marks the endpoint closed, discards its pending deliveries and
// closes its inbox. It is idempotent.
func (e *endpoint) shutdown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	e.net.stats.dropped.Add(uint64(len(e.heldIn)))
	e.heldIn = nil
	for id, t := range e.timers {
		// Whether or not Stop wins against the timer firing, the entry is
		// gone, so the callback (if it runs) does nothing.
		t.Stop()
		delete(e.timers, id)
		e.net.stats.dropped.Add(1)
	}
	close(e.inbox)
}

// deliver puts in into the inbox, or counts it as Dropped if the endpoint
// is closed and as Overflow if the inbox is full.
func (e *endpoint) deliver(in chain.Inbound) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deliverLocked(in)
}

func (e *endpoint) deliverLocked(in chain.Inbound) {
	if e.closed {
		e.net.stats.dropped.Add(1)
		return
	}
	if e.held {
		e.heldIn = append(e.heldIn, in)
		return
	}
	select {
	case e.inbox <- in:
		e.net.stats.delivered.Add(1)
	default:
		e.net.stats.overflow.Add(1)
	}
}

// deliverAfter delivers in after d, unless the endpoint closes first.
func (e *endpoint) deliverAfter(d time.Duration, in chain.Inbound) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		e.net.stats.dropped.Add(1)
		return
	}
	e.nextTimer++
	id := e.nextTimer
	// The callback needs mu, which is held until the timer is registered,
	// so it always finds its entry unless Close removed it.
	e.timers[id] = time.AfterFunc(d, func() { e.fire(id, in) })
	e.net.stats.delayed.Add(1)
}

// fire is the callback of the delayed delivery id.
func (e *endpoint) fire(id uint64, in chain.Inbound) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.timers[id]; !ok {
		return // discarded by Close, and counted there
	}
	delete(e.timers, id)
	e.deliverLocked(in)
}
