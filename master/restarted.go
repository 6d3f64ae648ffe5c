package master

import (
	"slices"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// The rules for nodes and masters restarted with missing or old state: a
// member whose storage lost what it had acknowledged is removed and
// rejoins as a new node (markLost, dropLost), a restarted node takes its
// place only once the master confirms it (confirms), and a master that
// lost its own state adopts the configuration the nodes report (adopt).

// markLost marks the member id as having lost what it had acknowledged
// (its server restarted on volatile storage): it holds nothing until it
// reports its new log. dropLost removes it.
func (s *state) markLost(id string) {
	ns := s.nodes[id]
	if ns == nil {
		ns = &nodeState{}
		s.nodes[id] = ns
	}
	ns.lost = true
	ns.last = 0
}

// isLost reports whether id is marked as having lost acknowledged entries.
func (s *state) isLost(id string) bool {
	ns := s.nodes[id]
	return ns != nil && ns.lost
}

// anyLost reports whether a member or the joining node is marked lost.
func (s *state) anyLost() bool {
	return slices.ContainsFunc(s.configured(), s.isLost)
}

// dropLost removes the members and the joining node marked lost from the
// chain at once: they become standby nodes and rejoin as new ones. When
// every member is lost, the chain goes on from the node that holds the
// most of its committed log, or waits for it (the last-copy rule, see
// lastcopy.go; the last member is never removed but for another node
// that holds more). It reports whether the configuration changed. It
// changes nothing while the master is behind the chain.
func (s *state) dropLost(now time.Time) bool {
	if s.behind > 0 {
		return false
	}
	next := s.cfg.Clone()
	var removed []chain.Member
	if j := next.Joining; j != nil && s.isLost(j.ID) {
		removed = append(removed, *j)
		next.Joining = nil
	}
	var kept []chain.Member
	for _, m := range next.Members {
		if s.isLost(m.ID) {
			removed = append(removed, m)
		} else {
			kept = append(kept, m)
		}
	}
	next.Members = kept
	if len(kept) == 0 {
		c, ok := lastCopy(s.copies(s.cfg, now))
		if !ok {
			return false // wait for the node that holds the most
		}
		removed = append(removed, s.takeLastCopy(c, &next)...)
		removed = slices.DeleteFunc(removed, func(m chain.Member) bool { return m.ID == c.ID })
	}
	if len(removed) == 0 {
		return false
	}
	next.Epoch++
	for _, m := range removed {
		s.standby[m.ID] = m
		// It stays marked lost until it joins again as a new node: if
		// this change is not committed, the next tick decides it again.
		delete(s.incarnations, m.ID)
		if m.ID == s.handoff.ID {
			s.handoff = handoff{}
		}
	}
	if !s.hasComplete(next.Members) {
		// No member left holds what the new tail still lacks: the chain
		// has lost those entries, and the new tail serves what it has.
		s.handoff = handoff{}
	}
	s.cfg = next
	return true
}

// adopt makes the configuration node hb.ID reports (wire.Heartbeat.Config)
// the master's own when its epoch is above the master's: a master
// restarted without its state starts again from its initial
// configuration, below the chain's, and a configuration a node runs was
// committed, at its epoch, by the master that decided it. The node need
// not be in it: a member the master removed runs the configuration that
// removed it (and those that follow, as a standby node), and it may be
// the only node that reports one: the members, restarted, report none
// until a master confirms their place, which a master behind the chain
// never does (seed 700841 of the simulation: the sole member restarted
// while its master lost its state, and only the removed node knew the
// chain's epoch). The members of
// the master's configuration (its initial one, after a restart without
// state) that the adopted one lacks become standby nodes, which rejoin
// when they report (the master no longer knows which were removed for
// good); the target length grows to count them and the adopted chain's
// nodes; the tail is taken as a new tail still catching up until it reports itself
// complete (the master does not know whether it is); no storage
// incarnation is recorded yet. It reports whether it adopted.
func (s *state) adopt(hb *wire.Heartbeat, now time.Time) bool {
	c := hb.Config
	if c == nil || c.Epoch != hb.Epoch || c.Epoch <= s.cfg.Epoch || c.Validate() != nil {
		return false
	}
	next := c.Clone()
	for _, id := range s.configured() {
		if next.Role(id) == chain.RoleNone {
			s.standby[id] = *memberOf(s.cfg, id)
		}
	}
	s.cfg = next
	clear(s.incarnations)
	for _, id := range s.configured() {
		delete(s.standby, id)
		m := memberOf(next, id)
		if ns := s.nodes[id]; ns != nil {
			ns.lastSeen, ns.lost = now, false
		} else {
			s.nodes[id] = &nodeState{addr: m.Addr, lastSeen: now}
		}
	}
	s.target = max(s.target, len(s.configured())+len(s.standby))
	s.handoff = handoff{}
	if len(next.Members) > 1 {
		s.handoff = handoff{ID: next.Tail().ID, Epoch: next.Epoch}
	}
	if s.behind <= next.Epoch {
		s.behind = 0
	}
	s.adopted = true
	return true
}

// memberOf returns the member or joining node id of cfg, or nil.
func memberOf(cfg chain.Config, id string) *chain.Member {
	if i := cfg.IndexOf(id); i >= 0 {
		return &cfg.Members[i]
	}
	if cfg.Joining != nil && cfg.Joining.ID == id {
		return cfg.Joining
	}
	return nil
}

// confirms reports whether the master vouches that node id, on the
// storage of incarnation inc, holds its place in the applied state c of
// the chain: it is a member or the joining node of c's configuration, c
// records inc as its storage, and it has lost nothing it acknowledged. A
// node restarted under a master takes its place only once confirmed
// (wire.ConfigUpdate.Confirmed).
func (s *state) confirms(c chainDurable, id string, inc uint64) bool {
	if inc == 0 || s.behind > 0 || c.Config.Role(id) == chain.RoleNone || c.Incarnations[id] != inc {
		return false
	}
	ns := s.nodes[id]
	return ns != nil && !ns.lost && ns.incarnation == inc
}
