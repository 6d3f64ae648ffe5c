package inmem

import (
	"slices"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// Rule applies its Faults, in place of those set with SetFaults, to the
// messages it matches: those from From to To (an empty address matches
// any) of one of Kinds (empty: of every kind; an Envelope matches by the
// kind of the message it carries). A Rule with Faults{Drop: 1} is a cut of
// the links it matches that can be removed on its own.
type Rule struct {
	From, To string
	Kinds    []wire.MessageKind
	Faults   Faults
}

// RuleID names a rule added with AddRule.
type RuleID uint64

// rule is an added Rule with its defaults filled in.
type rule struct {
	id RuleID
	Rule
}

func (r *rule) matches(from, to string, kind wire.MessageKind) bool {
	return (r.From == "" || r.From == from) && (r.To == "" || r.To == to) &&
		(len(r.Kinds) == 0 || slices.Contains(r.Kinds, kind))
}

// AddRule adds r; of the rules that match a message, the one added last
// decides its faults. It returns an error wrapping chain.ErrInvalidArgument,
// and adds nothing, if r's Faults are invalid (see SetFaults).
func (n *Network) AddRule(r Rule) (RuleID, error) {
	f, err := r.Faults.validate()
	if err != nil {
		return 0, err
	}
	r.Faults = f
	r.Kinds = slices.Clone(r.Kinds)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextRule++
	n.rules = append([]rule{{id: n.nextRule, Rule: r}}, n.rules...)
	return n.nextRule, nil
}

// RemoveRule removes the rule id; removing one that is gone changes
// nothing. Messages already delayed by it keep their delay.
func (n *Network) RemoveRule(id RuleID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = slices.DeleteFunc(n.rules, func(r rule) bool { return r.id == id })
}

// ClearRules removes every rule.
func (n *Network) ClearRules() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = nil
}

// faultsForLocked returns the faults of a message: the latest matching
// rule's, or the network's. n.mu must be held.
func (n *Network) faultsForLocked(from, to string, kind wire.MessageKind) *Faults {
	for i := range n.rules {
		if n.rules[i].matches(from, to, kind) {
			return &n.rules[i].Faults
		}
	}
	return &n.faults
}

// Tap is a function that sees every message accepted by Send, on the
// sender's goroutine, before it is routed (whether it will arrive or
// not). It must not block, nor modify or keep msg; it may call the
// Network's methods other than Send.
type Tap func(from, to string, msg chain.Message)

// SetTap makes tap see every message sent from now on; nil removes it.
// Tests use it to act at a moment of the protocol, such as killing a node
// as the master names it tail.
func (n *Network) SetTap(tap Tap) {
	if tap == nil {
		n.tap.Store(nil)
		return
	}
	n.tap.Store(&tap)
}

// SetDialedOnly sets whether a client endpoint (one whose address Listen
// generated) receives only from the addresses it has sent to, as on a
// connection-oriented transport such as TCP, where a client is reachable
// only over the connections it opened. Off by default: every address
// reaches every open endpoint. Messages dropped for it count in
// Stats.Dropped.
func (n *Network) SetDialedOnly(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dialedOnly = on
}

// noteDialed records that a client endpoint sent to addr.
func (e *endpoint) noteDialed(addr string) {
	if !e.generated {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dialed == nil {
		e.dialed = make(map[string]struct{})
	}
	e.dialed[addr] = struct{}{}
}

// reachableFrom reports whether a message from addr may reach e when the
// network delivers to clients over their own connections only.
func (e *endpoint) reachableFrom(addr string) bool {
	if !e.generated {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.dialed[addr]
	return ok
}
