package mux

import (
	"context"
	"fmt"
	"sync"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// endpoint is one open mux address. It implements chain.Endpoint.
type endpoint struct {
	sh    *shared
	sub   string
	addr  string
	inbox chan chain.Inbound
	// done is closed when Close starts; the dispatcher stops waiting for
	// room in inbox then.
	done      chan struct{}
	closeOnce sync.Once

	// inboxMu guards sends on inbox and its closing: a send happens only
	// with inboxMu held and inboxClosed false, so inbox is never sent on
	// after it is closed.
	inboxMu     sync.Mutex
	inboxClosed bool
}

var _ chain.Endpoint = (*endpoint)(nil)

func newEndpoint(sh *shared, sub string, inboxSize int) *endpoint {
	return &endpoint{
		sh:    sh,
		sub:   sub,
		addr:  JoinAddr(sh.ep.Addr(), sub),
		inbox: make(chan chain.Inbound, inboxSize),
		done:  make(chan struct{}),
	}
}

// Addr returns the endpoint's address: the base endpoint's address, a
// slash and the sub-address, or just the base endpoint's address for the
// sub-address "".
func (e *endpoint) Addr() string { return e.addr }

// Receive returns the endpoint's inbox. It is closed, exactly once, by
// Close, or when the shared base endpoint is closed underneath (by closing
// the base transport); messages already in it stay readable.
func (e *endpoint) Receive() <-chan chain.Inbound { return e.inbox }

// Send sends msg to the mux address to over the shared base endpoint:
// to the base part of to, wrapped in a wire.Envelope naming this
// endpoint's sub-address and to's, or unwrapped if both are "".
//
// Send blocks as long as the base endpoint's Send does (backpressure), at
// most until ctx is done. It returns an error wrapping chain.ErrClosed
// after Close; one wrapping chain.ErrInvalidArgument, without sending, for
// a nil message, a *wire.Envelope (mux wraps messages itself, and
// envelopes do not nest), or an address with an empty base part or a
// sub-address over MaxSubLen; ctx's error if ctx is already done; and the
// base endpoint's error, wrapped, otherwise. As with every transport, a
// nil error means only that the message was queued: a message for a
// sub-address nobody listens on is dropped at the receiver.
func (e *endpoint) Send(ctx context.Context, to string, msg chain.Message) error {
	select {
	case <-e.done:
		return fmt.Errorf("mux: send from %q to %q: endpoint %w", e.addr, to, chain.ErrClosed)
	default:
	}
	if msg == nil {
		return fmt.Errorf("mux: send from %q to %q: %w: nil message", e.addr, to, chain.ErrInvalidArgument)
	}
	if _, ok := msg.(*wire.Envelope); ok {
		return fmt.Errorf("mux: send from %q to %q: %w: an envelope (mux adds its own)", e.addr, to, chain.ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mux: send from %q to %q: %w", e.addr, to, err)
	}
	base, sub := SplitAddr(to)
	if base == "" {
		return fmt.Errorf("mux: send from %q to %q: %w: empty base address", e.addr, to, chain.ErrInvalidArgument)
	}
	if len(sub) > MaxSubLen {
		return fmt.Errorf("mux: send from %q to %q: %w: sub-address of %d bytes, over %d", e.addr, to, chain.ErrInvalidArgument, len(sub), MaxSubLen)
	}
	out := msg
	if e.sub != "" || sub != "" {
		out = &wire.Envelope{From: e.sub, To: sub, Msg: msg}
	}
	if err := e.sh.ep.Send(ctx, base, out); err != nil {
		return fmt.Errorf("mux: send from %q to %q: %w", e.addr, to, err)
	}
	return nil
}

// Close closes the endpoint: it frees its sub-address, discards messages
// not yet in its Receive channel and closes that channel (messages already
// in it stay readable). The last endpoint to close on a base endpoint
// closes the base endpoint and waits for its dispatcher to stop. Close is
// idempotent; concurrent calls all return once the endpoint is closed. It
// returns nil.
func (e *endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.sh.remove(e)
		close(e.done) // unblocks a dispatcher waiting for room in inbox
		e.closeInbox()
		e.sh.t.release(e.sh)
	})
	return nil
}

// deliver puts in into the inbox, waiting for room until the endpoint
// closes. It reports whether in was delivered.
func (e *endpoint) deliver(in chain.Inbound) bool {
	e.inboxMu.Lock()
	defer e.inboxMu.Unlock()
	if e.inboxClosed {
		return false
	}
	select {
	case e.inbox <- in:
		return true
	case <-e.done:
		return false
	}
}

// closeInbox closes the inbox once; it waits for a delivery in progress,
// which Close cuts short by closing done first.
func (e *endpoint) closeInbox() {
	e.inboxMu.Lock()
	defer e.inboxMu.Unlock()
	if !e.inboxClosed {
		e.inboxClosed = true
		close(e.inbox)
	}
}
