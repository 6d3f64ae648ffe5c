package inmem

import (
	"maps"
	"slices"

	"github.com/chainrep/chain/wire"
)

// heldSend is a message sent from a held address, waiting for Release.
type heldSend struct {
	to      string
	kind    wire.MessageKind
	encoded []byte
}

// Hold makes the endpoint at addr look paused from outside, as a process
// stopped by a long garbage-collection pause or a SIGSTOP does: messages
// that reach it wait, in arrival order, instead of entering its inbox, and
// messages it sends wait instead of leaving, until Release(addr) lets both
// go in a burst. Unlike Isolate, nothing is lost. The endpoint itself keeps
// running (its goroutines are not stopped); its sends return nil. Holding
// an address that is not open holds the endpoint opened there later.
// Holding a held address changes nothing.
func (n *Network) Hold(addr string) {
	n.mu.Lock()
	if _, ok := n.held[addr]; !ok {
		n.held[addr] = nil
	}
	ep := n.endpoints[addr]
	n.mu.Unlock()
	if ep != nil {
		ep.mu.Lock()
		ep.held = true
		ep.mu.Unlock()
	}
}

// Release ends Hold(addr): the messages that waited for the endpoint enter
// its inbox, in the order they arrived (those that do not fit are counted
// in Stats.Overflow), then the messages it sent meanwhile leave, in the
// order it sent them, meeting the partitions and faults in place now.
func (n *Network) Release(addr string) {
	n.mu.Lock()
	sent, ok := n.held[addr]
	delete(n.held, addr)
	ep := n.endpoints[addr]
	n.mu.Unlock()
	if !ok || ep == nil {
		return
	}
	ep.mu.Lock()
	in := ep.heldIn
	ep.held, ep.heldIn = false, nil
	for _, m := range in {
		ep.deliverLocked(m)
	}
	ep.mu.Unlock()
	for _, s := range sent {
		_ = ep.dispatch(s.to, s.kind, s.encoded) // the encoding was checked at Send
	}
}

// ReleaseAll releases every held address.
func (n *Network) ReleaseAll() {
	n.mu.Lock()
	addrs := slices.Collect(maps.Keys(n.held))
	n.mu.Unlock()
	for _, a := range addrs {
		n.Release(a)
	}
}

// holdSend keeps a message sent from a held address for Release; it
// reports whether from is held.
func (n *Network) holdSend(from, to string, kind wire.MessageKind, encoded []byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	sent, ok := n.held[from]
	if !ok {
		return false
	}
	n.held[from] = append(sent, heldSend{to: to, kind: kind, encoded: encoded})
	return true
}

// Crash closes the endpoint at addr at once, as the death of its process
// would: what waits for it (delayed, held or in its inbox) is discarded,
// what it sent while held is lost, its later sends fail with an error
// wrapping chain.ErrClosed, and the address is free for a new endpoint
// (the owner's own Close of the old one then changes nothing). The hold
// of the address, if any, stays for the next endpoint opened there.
func (n *Network) Crash(addr string) {
	n.mu.Lock()
	ep := n.endpoints[addr]
	if ep != nil {
		delete(n.endpoints, addr)
	}
	if _, ok := n.held[addr]; ok {
		n.held[addr] = nil
	}
	n.mu.Unlock()
	if ep != nil {
		ep.shutdown()
	}
}
