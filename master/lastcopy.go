package master

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain"
)

// The last-copy rule. When every member of a chain has lost entries it
// had acknowledged (wiped, restarted on volatile storage), no member
// holds the chain's committed log, but another node may: the joining
// node, which pulled it from the tail, or a standby node, a member
// removed while it held it (the only other complete member, cut off from
// the leading master just as the head's disk was wiped, say). Keeping a
// lost member would make the chain's log what it still holds (nothing,
// for a wiped one): as head it orders new entries at offsets the chain
// committed, and acknowledged writes are lost. So the chain goes on from
// the node that holds the most of the committed log: a lost member stays
// as it is only when no other node holds more; else that node becomes
// the sole member, and the lost members rejoin behind it as new nodes.
// When the node that holds the most is silent (cut off from the master,
// or down), the chain waits for it, changing nothing and serving nothing
// (the lost members are never confirmed): unavailable, but no
// acknowledged write lost for want of waiting.

// copyKind is what a candidate for the last copy of a chain's log is to
// the chain.
type copyKind int

const (
	copyMember  copyKind = iota // a member that lost entries: it would stay as it is
	copyJoining                 // the joining node
	copyStandby                 // a standby node: a removed member, a node that may join
)

// logCopy is a node that may hold the log of a chain whose every member
// lost entries.
type logCopy struct {
	ID   string
	Kind copyKind
	// Holds is how many entries of the chain's committed log the node
	// holds for sure, as it last reported: a lost member's log and the
	// joining node's are the chain's (the joining node pulled its log
	// from the tail; a lost member holds what it kept), a standby node's
	// only up to its commit point (beyond it the chain may have ordered
	// other entries since it left).
	Holds uint64
	// Alive is set when the node can take over now: heard from within
	// the failure timeout. A member counts as alive: it stays in the
	// configuration whether it is or not.
	Alive bool
}

// lastCopy is the last-copy rule: of the copies, the one that holds the
// most (among equals, a member before the joining node before a standby
// node, then the smallest id), if it is alive. It reports false when that
// one is silent: the chain waits for it.
func lastCopy(copies []logCopy) (logCopy, bool) {
	if len(copies) == 0 {
		return logCopy{}, false
	}
	best := slices.MinFunc(copies, func(a, b logCopy) int {
		return cmp.Or(cmp.Compare(b.Holds, a.Holds), cmp.Compare(a.Kind, b.Kind), strings.Compare(a.ID, b.ID))
	})
	return best, best.Alive
}

// copies returns the candidates for the last copy of the log of a chain
// at cfg whose every member is lost, at now: its members, its joining
// node and its standby nodes, but those marked lost.
func (s *state) copies(cfg chain.Config, now time.Time) []logCopy {
	holds := func(id string, commit bool) uint64 {
		ns := s.nodes[id]
		switch {
		case ns == nil:
			return 0
		case commit:
			return ns.commit
		}
		return ns.last
	}
	var out []logCopy
	for _, m := range cfg.Members {
		out = append(out, logCopy{ID: m.ID, Kind: copyMember, Holds: holds(m.ID, false), Alive: true})
	}
	if j := cfg.Joining; j != nil && !s.isLost(j.ID) {
		out = append(out, logCopy{ID: j.ID, Kind: copyJoining, Holds: holds(j.ID, false), Alive: s.alive(j.ID, now)})
	}
	for id := range s.standby {
		if !s.isLost(id) {
			out = append(out, logCopy{ID: id, Kind: copyStandby, Holds: holds(id, true), Alive: s.alive(id, now)})
		}
	}
	return out
}

// takeLastCopy makes c, chosen by lastCopy, what a chain whose every
// member is lost goes on from: next (the configuration without its lost
// members and lost joining node) gets c as its sole member, or keeps the
// lost member c, which no longer counts as lost. It returns the nodes it
// takes out of next besides the lost ones: the joining node, when a
// standby node takes over.
func (s *state) takeLastCopy(c logCopy, next *chain.Config) []chain.Member {
	var out []chain.Member
	switch c.Kind {
	case copyMember:
		next.Members = []chain.Member{*memberOf(s.cfg, c.ID)}
	case copyJoining:
		next.Members, next.Joining = []chain.Member{*next.Joining}, nil
	case copyStandby:
		m := s.standby[c.ID]
		if ns := s.nodes[c.ID]; ns != nil && ns.addr != "" {
			m.Addr = ns.addr
		}
		delete(s.standby, c.ID)
		if next.Joining != nil {
			out = append(out, *next.Joining)
		}
		next.Members, next.Joining = []chain.Member{m}, nil
	}
	delete(s.incarnations, c.ID)
	if ns := s.nodes[c.ID]; ns != nil {
		ns.lost = false
		if ns.incarnation != 0 {
			s.incarnations[c.ID] = ns.incarnation
		}
	}
	s.handoff = handoff{}
	return out
}
