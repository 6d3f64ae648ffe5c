package inmem

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// DefaultInboxSize is the inbox capacity used when Options.InboxSize is not
// positive.
const DefaultInboxSize = 16384

// Options configures a Network.
type Options struct {
	// Seed seeds the random source behind fault injection. Two networks
	// with the same seed, the same faults and the same message order make
	// the same decisions.
	Seed int64
	// InboxSize is the capacity of each endpoint's inbox, the channel
	// returned by Receive. Messages arriving at a full inbox are dropped
	// and counted in Stats.Overflow. Zero or less means DefaultInboxSize.
	InboxSize int
}

// Network is an in-memory chain.Transport. It is safe for concurrent use;
// in particular, fault injection may be changed while traffic flows.
//
// The zero value is not usable; create a Network with New.
type Network struct {
	inboxSize int
	stats     counters

	// tap, when set, sees every message accepted by Send (see SetTap).
	tap atomic.Pointer[Tap]

	// mu guards every field below.
	mu         sync.Mutex
	closed     bool
	endpoints  map[string]*endpoint
	nextClient uint64
	links      linkState
	faults     Faults
	rules      []rule // later rules first
	nextRule   RuleID
	held       map[string][]heldSend // held addresses and what they sent meanwhile
	dialedOnly bool
	rng        *rand.Rand
}

var _ chain.Transport = (*Network)(nil)

// New returns an empty Network with no partitions and no faults.
func New(opts Options) *Network {
	size := opts.InboxSize
	if size <= 0 {
		size = DefaultInboxSize
	}
	seed := uint64(opts.Seed)
	return &Network{
		inboxSize: size,
		endpoints: make(map[string]*endpoint),
		links:     newLinkState(),
		held:      make(map[string][]heldSend),
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Listen opens the endpoint at addr. An empty addr opens an endpoint at a
// generated address "client-1", "client-2", ... that is unique on this
// Network. Listen returns an error wrapping chain.ErrInvalidArgument if addr
// is in use by an open endpoint, and one wrapping chain.ErrClosed if the
// Network is closed. The address becomes free again when its endpoint is
// closed.
func (n *Network) Listen(addr string) (chain.Endpoint, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("inmem: listen %q: network %w", addr, chain.ErrClosed)
	}
	generated := addr == ""
	if generated {
		for {
			n.nextClient++
			addr = "client-" + strconv.FormatUint(n.nextClient, 10)
			if _, used := n.endpoints[addr]; !used {
				break
			}
		}
	} else if _, used := n.endpoints[addr]; used {
		return nil, fmt.Errorf("inmem: listen %q: %w: address in use", addr, chain.ErrInvalidArgument)
	}
	ep := newEndpoint(n, addr, n.inboxSize)
	ep.generated = generated
	if _, held := n.held[addr]; held {
		ep.held = true
	}
	n.endpoints[addr] = ep
	return ep, nil
}

// Close closes every open endpoint, which closes their Receive channels and
// discards their pending delayed deliveries, and makes later calls to Listen
// fail. Close is idempotent and always returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	eps := slices.Collect(maps.Values(n.endpoints))
	clear(n.endpoints)
	n.mu.Unlock()

	for _, ep := range eps {
		ep.shutdown()
	}
	return nil
}

// remove forgets ep's address if ep still holds it, freeing it for Listen.
func (n *Network) remove(ep *endpoint) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.endpoints[ep.addr] == ep {
		delete(n.endpoints, ep.addr)
	}
}

// route decides the fate of one message of the given kind sent from from
// to to: the destination and, for each copy to deliver, its delay (zero
// for immediate delivery). It returns a nil destination when the message
// is dropped, and counts Sent, Dropped and Duplicated.
func (n *Network) route(from, to string, kind wire.MessageKind) (*endpoint, []delivery) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stats.sent.Add(1)
	if n.links.blocked(from, to) {
		n.stats.dropped.Add(1)
		return nil, nil
	}
	dst := n.endpoints[to]
	if dst == nil || (n.dialedOnly && !dst.reachableFrom(from)) {
		n.stats.dropped.Add(1)
		return nil, nil
	}
	copies := n.decideLocked(n.faultsForLocked(from, to, kind))
	if len(copies) == 0 {
		n.stats.dropped.Add(1)
		return nil, nil
	}
	n.stats.duplicated.Add(uint64(len(copies) - 1))
	return dst, copies
}
