package mux

import (
	"fmt"
	"sync"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// shared is one endpoint of the base transport and the mux endpoints that
// share it, with the goroutine that dispatches its messages to them.
type shared struct {
	t      *Transport
	ep     chain.Endpoint
	client bool // the base client endpoint (Listen(""))

	// refs counts the open mux endpoints on ep; the last to close closes
	// ep. refs and closing are guarded by t.mu.
	refs    int
	closing bool
	// gone is closed once ep is closed, the dispatcher has stopped and
	// the Transport has forgotten this shared.
	gone chan struct{}
	// stopped is closed when the dispatcher returns.
	stopped chan struct{}

	// mu guards subs and dead. It is never held while waiting.
	mu   sync.Mutex
	subs map[string]*endpoint
	// dead is set when the dispatcher stopped: ep's Receive channel closed.
	dead bool
}

// newShared returns the shared base endpoint ep, with its dispatcher
// started.
func newShared(t *Transport, ep chain.Endpoint, client bool) *shared {
	sh := &shared{
		t:       t,
		ep:      ep,
		client:  client,
		gone:    make(chan struct{}),
		stopped: make(chan struct{}),
		subs:    make(map[string]*endpoint),
	}
	go sh.dispatch()
	return sh
}

// add opens the endpoint at sub. It fails if sub is in use or the base
// endpoint is closed.
func (sh *shared) add(sub string) (*endpoint, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.dead {
		return nil, fmt.Errorf("base endpoint %q %w", sh.ep.Addr(), chain.ErrClosed)
	}
	if _, used := sh.subs[sub]; used {
		return nil, fmt.Errorf("%w: address in use", chain.ErrInvalidArgument)
	}
	e := newEndpoint(sh, sub, sh.t.inboxSize)
	sh.subs[sub] = e
	return e, nil
}

// remove forgets e, freeing its sub-address.
func (sh *shared) remove(e *endpoint) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.subs[e.sub] == e {
		delete(sh.subs, e.sub)
	}
}

// dispatch delivers the base endpoint's messages until its Receive channel
// closes, then closes the Receive channels of the endpoints still open on
// it, since nothing can reach them any more.
func (sh *shared) dispatch() {
	defer close(sh.stopped)
	for in := range sh.ep.Receive() {
		sh.route(in)
	}
	sh.mu.Lock()
	sh.dead = true
	open := make([]*endpoint, 0, len(sh.subs))
	for _, e := range sh.subs {
		open = append(open, e)
	}
	sh.mu.Unlock()
	for _, e := range open {
		e.closeInbox()
	}
}

// route delivers one message of the base endpoint: an envelope to the
// endpoint at its To, as coming from the sender's base address joined with
// its From; any other message to the endpoint at sub "", with From
// unchanged. The sender's verified identity (Inbound.Peer) goes with the
// message: every sub-address behind a base address is the same peer. It drops the message if there is no such endpoint or the
// envelope is malformed.
func (sh *shared) route(in chain.Inbound) {
	sub, from, msg := "", in.From, in.Msg
	if env, ok := msg.(*wire.Envelope); ok {
		if _, nested := env.Msg.(*wire.Envelope); nested {
			sh.t.dropped.Add(1)
			return
		}
		sub, from, msg = env.To, JoinAddr(in.From, env.From), env.Msg
	}
	if msg == nil {
		sh.t.dropped.Add(1)
		return
	}
	sh.mu.Lock()
	e := sh.subs[sub]
	sh.mu.Unlock()
	if e == nil || !e.deliver(chain.Inbound{From: from, Msg: msg, Peer: in.Peer}) {
		sh.t.dropped.Add(1)
		return
	}
	sh.t.delivered.Add(1)
}
