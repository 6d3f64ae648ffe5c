package master

import (
	"fmt"
	"slices"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// nodeState is what the master knows of one node from its heartbeats.
type nodeState struct {
	addr     string
	lastSeen time.Time
	epoch    uint64
	last     uint64
	commit   uint64
	// incarnation is the storage incarnation of its last heartbeat.
	incarnation uint64
	// lost is set when the node, a member or the joining node, lost
	// entries it had acknowledged: its log ends below a commit point it
	// reported, or its storage is not the one the master recorded. It is
	// removed (dropLost) and counts as holding nothing until then; the
	// flag outlives a failed commit of its removal, so the removal is
	// decided again.
	lost bool
	// links is the latest report of its replication links (see links.go).
	links *linkReport
	// heard is set once a heartbeat came from the node since this state
	// was built (newState, restoreState, adopt: a master that took over,
	// or lost its state).
	heard bool
}

// state is the master's decision-making core: the chain's configuration,
// what heartbeats said of each node, and the nodes waiting to join. It
// takes events with the time they happened and returns configurations; it
// does no I/O and reads no clock, so it tests without timers.
type state struct {
	id             string // the chain's id ("" for a master of one chain)
	slotLo, slotHi uint32 // the slots it serves
	cfg            chain.Config
	timeout        time.Duration
	nodes          map[string]*nodeState
	standby        map[string]chain.Member // nodes that may join, by id
	target         int                     // the chain length to restore
	handoff        handoff                 // the new tail still catching up, if any
	blind          bool                    // the master heard from no member lately
	// behind is the highest epoch a node reported above the master's own
	// without the configuration (see adopt): the master lost its state or
	// was restarted with an old configuration and must change nothing (its
	// changes would reuse the chain's epochs with stale members) until a
	// node reports a configuration at that epoch, or it is restarted
	// with the current one. 0 when not.
	behind uint64
	// incarnations are the storage incarnations of the configured nodes
	// (wire.Heartbeat.Incarnation), recorded when first heard from while
	// configured (or when a node joins): replicated, so a new leader knows
	// which storage each member must report.
	incarnations map[string]uint64
	// adopted is set when cfg was adopted from a node's heartbeat at an
	// epoch above the next one (see adopt), until it is committed.
	adopted bool
	// cuts are the links the link rule took out since the master last
	// logged them (see links.go); working state only.
	cuts []linkCut
	// removed are the nodes taken out for good with removeNode since they
	// were last added: their claims to be standby nodes
	// (wire.Heartbeat.Standby, see takesClaim) are refused. Replicated.
	removed map[string]bool
}

func newState(cfg chain.Config, timeout time.Duration, now time.Time) *state {
	s := &state{
		cfg:     cfg.Clone(),
		timeout: timeout,
		nodes:   make(map[string]*nodeState),
		standby: make(map[string]chain.Member),
		target:  len(cfg.Members),

		incarnations: make(map[string]uint64),
		removed:      make(map[string]bool),
	}
	// Members get one failure timeout from the master's start to report.
	for _, m := range cfg.Members {
		s.nodes[m.ID] = &nodeState{addr: m.Addr, lastSeen: now}
	}
	return s
}

// heartbeatResult is what a heartbeat changed in the replicated state.
type heartbeatResult int

const (
	heartbeatNoChange heartbeatResult = iota
	// heartbeatLostLog: a member or the joining node lost entries it had
	// acknowledged; dropLost removes it.
	heartbeatLostLog
	// heartbeatCaughtUp: the new tail finished its handoff.
	heartbeatCaughtUp
	// heartbeatRecorded: the storage incarnation of a configured node was
	// recorded.
	heartbeatRecorded
	// heartbeatAdopted: the master, behind the chain, adopted the
	// configuration the node reported (see adopt).
	heartbeatAdopted
	// heartbeatClaimed: a node the master did not know claimed to be a
	// standby node, and is one again (see takesClaim).
	heartbeatClaimed
)

// heartbeat records that node hb.ID is alive. A node the master does not
// know, or knows as removed, becomes a standby node if it was added with
// addNode, or if it claims to be one and the master takes the claim (see
// takesClaim); others are ignored. A new tail that reports itself complete at
// the epoch that promoted it, or later, ends the handoff. A heartbeat at
// an epoch above the master's makes the master adopt the configuration
// it reports, or, without one, puts the master behind the chain.
//
// A member has lost entries it had acknowledged when its log ends below
// the commit point it reported before, or when it reports a storage
// incarnation other than the one recorded for it: it
// restarted on an empty, wiped or damaged storage (say, in memory) before
// the master noticed it was gone. It must not serve as a member: as head
// it would reuse offsets and as tail answer from a state that lacks
// acknowledged writes. It is marked lost (the master confirms nothing for
// it and counts it as holding nothing) and dropLost removes it; it
// rejoins as a new node. The incarnation of a member the master has none
// for is recorded, and so is the joining node's latest (it holds nothing
// that counts: restarted empty, it is only further behind). (Heartbeats
// from one node arrive in order on the transports, which is what makes a
// shorter log a sign of a restart.)
func (s *state) heartbeat(hb *wire.Heartbeat, now time.Time) (res heartbeatResult) {
	if hb.Epoch > s.cfg.Epoch {
		if s.adopt(hb, now) {
			if ns := s.nodes[hb.ID]; ns != nil {
				ns.incarnation = hb.Incarnation
			}
			return heartbeatAdopted
		}
		s.behind = max(s.behind, hb.Epoch)
	}
	claimed := s.takesClaim(hb)
	if claimed {
		s.standby[hb.ID] = chain.Member{ID: hb.ID, Addr: hb.Addr}
		s.target = max(s.target, len(s.configured())+len(s.standby))
	}
	ns, ok := s.nodes[hb.ID]
	if !ok {
		if _, added := s.standby[hb.ID]; !added {
			return heartbeatNoChange
		}
		ns = &nodeState{}
		s.nodes[hb.ID] = ns
	}
	role := s.cfg.Role(hb.ID)
	rec := s.incarnations[hb.ID]
	lost := role.IsMember() && (hb.Last < ns.commit || (rec != 0 && hb.Incarnation != 0 && hb.Incarnation != rec))
	ns.addr, ns.lastSeen = hb.Addr, now
	ns.noteLinks(hb)
	ns.epoch, ns.last, ns.commit = hb.Epoch, hb.Last, hb.Commit
	ns.incarnation = hb.Incarnation
	ns.heard = true
	if s.behind > 0 {
		return heartbeatNoChange
	}
	if claimed {
		return heartbeatClaimed
	}
	if role.IsMember() && rec == 0 && hb.ID != s.handoff.ID && !lost && !ns.lost {
		// No storage is recorded for the member: see firstStorage.
		switch s.firstStorage(hb.Last) {
		case storageUnknown:
			return heartbeatNoChange
		case storageLost:
			lost = true
		case storageHolds:
			if s.recordHeard() {
				defer func() {
					if res == heartbeatNoChange {
						res = heartbeatRecorded
					}
				}()
			}
		}
	}
	switch {
	case lost && !ns.lost:
		ns.lost = true
		return heartbeatLostLog
	case lost || ns.lost:
		return heartbeatNoChange
	}
	res = heartbeatNoChange
	if hb.Incarnation != 0 && hb.Incarnation != rec && (rec == 0 || role == chain.RoleJoining) && role != chain.RoleNone {
		s.incarnations[hb.ID] = hb.Incarnation
		res = heartbeatRecorded
	}
	if hb.ID == s.handoff.ID && hb.Epoch >= s.handoff.Epoch && hb.Complete {
		s.handoff = handoff{}
		return heartbeatCaughtUp
	}
	return res
}

// storageVerdict is what firstStorage decides.
type storageVerdict int

const (
	storageHolds   storageVerdict = iota // record it
	storageUnknown                       // not yet: some member has not reported
	storageLost                          // it lost committed entries
)

// firstStorage decides on the storage a member reports when the master
// has none recorded for it (a new chain's first heartbeats, or a master
// that took over, adopted the nodes' configuration or lost its state,
// which knows no storage): it is recorded only once every member has
// reported to this state (the master refuses to decide before it knows
// what the chain committed; a member that never reports is removed when
// its failure timeout ends), and only if its log reaches the highest
// commit point a member reported, which every member holds: a member
// whose log ends below it lost committed entries (it restarted on a
// wiped disk, say, while a master without state knew no storage to tell
// it by) and is marked lost. The new tail of an unfinished handoff holds
// less by design and is not asked (see heartbeat).
func (s *state) firstStorage(last uint64) storageVerdict {
	var commit uint64
	for _, m := range s.cfg.Members {
		ns := s.nodes[m.ID]
		if ns == nil || !ns.heard {
			return storageUnknown
		}
		commit = max(commit, ns.commit)
	}
	if last < commit {
		return storageLost
	}
	return storageHolds
}

// recordHeard records, once firstStorage can decide, the storage of every
// other member with none recorded whose last heartbeat shows a log that
// holds what firstStorage asks (their storage, as their last heartbeat
// reported it, is the one they run: a restart since would report
// another). It reports whether it recorded any.
func (s *state) recordHeard() bool {
	recorded := false
	for _, m := range s.cfg.Members {
		ns := s.nodes[m.ID]
		if s.incarnations[m.ID] != 0 || m.ID == s.handoff.ID || ns == nil || ns.lost || ns.incarnation == 0 {
			continue
		}
		if s.firstStorage(ns.last) == storageHolds {
			s.incarnations[m.ID] = ns.incarnation
			recorded = true
		}
	}
	return recorded
}

// takesClaim reports whether the master takes node hb.ID, which claims
// to be a standby node of the chain (wire.Heartbeat.Standby: a leader
// master told it so, see standbyOf), as one: a master of one chain (not
// behind it) that does not have it configured or standby, and did not
// remove it for good with removeNode. A master that kept its state knows
// every standby node, so it takes no claim but from a node it removed for
// good, which it refuses; a master restarted without its state knows
// neither its standby nodes (those added after the initial configuration,
// and the removed members not in it) nor whom it removed, and takes every
// claim: the node rejoins, and the chain's target length grows to count
// it. (A node removed for good that a master without state takes back
// is removed again with removeNode, as adopt's are.) A partitioned
// cluster's master places replicas from what its servers report, and
// takes no claim.
func (s *state) takesClaim(hb *wire.Heartbeat) bool {
	if !hb.Standby || s.id != "" || s.behind > 0 || hb.ID == "" || hb.Addr == "" || s.removed[hb.ID] {
		return false
	}
	if _, ok := s.standby[hb.ID]; ok || s.cfg.Role(hb.ID) != chain.RoleNone {
		return false
	}
	return !addrInUse(s.cfg, chain.Member{ID: hb.ID, Addr: hb.Addr})
}

// standbyOf reports whether the master tells node id it is a standby node
// (wire.ConfigUpdate.Standby): id is one of a master of one chain.
func (s *state) standbyOf(id string) bool {
	_, ok := s.standby[id]
	return ok && s.id == ""
}

// hasComplete reports whether members include one that holds every
// committed entry: any member but the new tail of an unfinished handoff
// and those that lost entries.
func (s *state) hasComplete(members []chain.Member) bool {
	return slices.ContainsFunc(members, func(m chain.Member) bool { return m.ID != s.handoff.ID && !s.isLost(m.ID) })
}

// alive reports whether id has sent a heartbeat within the failure timeout.
func (s *state) alive(id string, now time.Time) bool {
	ns, ok := s.nodes[id]
	return ok && now.Sub(ns.lastSeen) <= s.timeout
}

// tick decides, at time now, on at most one change of configuration
// (none while the master is behind the chain, see state.behind):
// remove the members and joining node that stopped sending heartbeats
// (but only while some member was heard from within half the timeout, so
// a master cut off from everyone removes no one), else remove the
// downstream end of a replication link cut between two live members (the
// link rule, links.go), else promote a joining node that has caught up
// to tail, else let a live standby node join behind the tail while the
// chain is shorter than its target. It reports whether the configuration
// changed.
func (s *state) tick(now time.Time) bool {
	if s.behind > 0 {
		return false
	}
	if !s.connected(now) {
		// No member has been heard from lately: more likely the master is
		// cut off than the whole chain dead. Change nothing; the nodes
		// fence themselves and serve again when contact returns.
		s.blind = true
		return false
	}
	if s.blind {
		// Contact is back: every node of the configuration gets a full
		// timeout from now to report before its silence counts. Standby
		// nodes are not reset: silence does not remove them, and one
		// that died before the blind period must not look alive enough
		// to be chosen to join.
		s.blind = false
		for _, id := range s.configured() {
			if ns := s.nodes[id]; ns != nil {
				ns.lastSeen = now
			}
		}
		return false
	}
	if s.dropLost(now) {
		return true
	}
	if s.anyLost() {
		// Every member is lost and the chain waits for the node that
		// holds the most of its log (see lastcopy.go): no node joins
		// behind, or is promoted after, a member that holds nothing.
		return false
	}
	next := s.cfg.Clone()
	next.Members = s.survivors(now)
	changed := len(next.Members) != len(s.cfg.Members)
	if !slices.ContainsFunc(next.Members, func(m chain.Member) bool { return m.ID == s.handoff.ID }) {
		s.handoff = handoff{} // the new tail failed before it caught up
	}
	if next.Joining != nil && !s.alive(next.Joining.ID, now) {
		s.standby[next.Joining.ID] = *next.Joining
		next.Joining, changed = nil, true
	}
	if !changed {
		next.Members, _, changed = s.removeCut(next.Members, now)
	}
	promoted := false
	if !changed {
		switch {
		case next.Joining != nil && s.handoff.ID == "" && s.caughtUp(next.Joining.ID, next.Tail().ID):
			// The tail's commit point in its last heartbeat may be behind
			// what it has committed since: the new tail gets the rest
			// from its predecessor in the handoff, and is not complete
			// until it reports so.
			next.Members = append(next.Members, *next.Joining)
			next.Joining, changed, promoted = nil, true, true
		case next.Joining == nil && len(next.Members) < s.target:
			if m, ok := s.liveStandby(now, next); ok {
				delete(s.standby, m.ID)
				next.Joining, changed = &m, true
				// It joins on the storage it heartbeats from.
				ns := s.nodes[m.ID]
				ns.lost = false
				delete(s.incarnations, m.ID)
				if ns.incarnation != 0 {
					s.incarnations[m.ID] = ns.incarnation
				}
			}
		}
	}
	for _, m := range s.cfg.Members {
		if next.Role(m.ID) == chain.RoleNone {
			// A removed member may come back only as a new node.
			s.standby[m.ID] = m
		}
	}
	if changed {
		next.Epoch++
		s.cfg = next
	}
	if promoted {
		s.handoff = handoff{ID: next.Tail().ID, Epoch: next.Epoch}
	}
	return changed
}

// survivors returns the members that are alive at now, in chain order.
// While a new tail is catching up, it alone does not hold every committed
// entry: if every other member has failed, the one nearest it is kept
// (dead or not) so that the chain waits for it rather than lose what
// only it holds.
func (s *state) survivors(now time.Time) []chain.Member {
	var kept []chain.Member
	for _, m := range s.cfg.Members {
		if s.alive(m.ID, now) {
			kept = append(kept, m)
		}
	}
	if s.handoff.ID == "" || s.hasComplete(kept) || !s.alive(s.handoff.ID, now) {
		return kept
	}
	i := slices.IndexFunc(s.cfg.Members, func(m chain.Member) bool { return m.ID == s.handoff.ID })
	if i < 1 {
		return kept
	}
	return []chain.Member{s.cfg.Members[i-1], s.cfg.Members[i]}
}

// configured returns the ids of the members and the joining node.
func (s *state) configured() []string {
	ids := make([]string, 0, len(s.cfg.Members)+1)
	for _, m := range s.cfg.Members {
		ids = append(ids, m.ID)
	}
	if s.cfg.Joining != nil {
		ids = append(ids, s.cfg.Joining.ID)
	}
	return ids
}

// connected reports whether some member was heard from within half the
// failure timeout.
func (s *state) connected(now time.Time) bool {
	for _, m := range s.cfg.Members {
		if ns := s.nodes[m.ID]; ns != nil && now.Sub(ns.lastSeen) <= s.timeout/2 {
			return true
		}
	}
	return false
}

// caughtUp reports whether the joining node holds everything the tail had
// committed at their last heartbeats, and has adopted the configuration
// that made it the joining node. The tail's final entries reach it after
// the switch, before it serves (the tail handoff).
func (s *state) caughtUp(joining, tail string) bool {
	j, t := s.nodes[joining], s.nodes[tail]
	return j != nil && t != nil && !j.lost && j.epoch == s.cfg.Epoch && j.last >= t.commit
}

// liveStandby returns the standby node, of those alive at now, with the
// smallest id, at the address it heartbeats from. A node whose address is
// in use in next (its configuration is wrong) is passed over: it would
// make the configuration invalid. So is a node whose committed prefix,
// which it keeps when it joins, reaches beyond the tail's log (a new tail
// still catching up): its log would not be a prefix of its predecessor's.
// So is a node not heard from since the state was built (a master that
// took over, or lost its state, gives every node it knows a failure
// timeout to report, and knows nothing of its log until it does).
func (s *state) liveStandby(now time.Time, next chain.Config) (chain.Member, bool) {
	var best chain.Member
	found := false
	tail := s.nodes[next.Tail().ID]
	for id, m := range s.standby {
		if !s.alive(id, now) || (found && id >= best.ID) {
			continue
		}
		if ns := s.nodes[id]; tail == nil || !ns.heard || ns.commit > tail.last {
			continue
		}
		if ns := s.nodes[id]; ns.addr != "" {
			m.Addr = ns.addr
		}
		if addrInUse(next, m) {
			continue
		}
		best, found = m, true
	}
	return best, found
}

// addrInUse reports whether m's address belongs to another node of cfg.
func addrInUse(cfg chain.Config, m chain.Member) bool {
	for _, o := range cfg.Members {
		if o.Addr == m.Addr && o.ID != m.ID {
			return true
		}
	}
	return cfg.Joining != nil && cfg.Joining.Addr == m.Addr && cfg.Joining.ID != m.ID
}

// addNode lets m join: it becomes a standby node and the chain's target
// length grows by one. Adding a node of the configuration changes
// nothing; a node at an address the configuration uses is refused.
func (s *state) addNode(m chain.Member) error {
	if err := s.checkBehind(); err != nil {
		return err
	}
	if m.ID == "" || m.Addr == "" {
		return refused(chain.ErrInvalidArgument, "a node needs an id and an address")
	}
	if s.cfg.Role(m.ID) != chain.RoleNone {
		return nil // already in the chain
	}
	if addrInUse(s.cfg, m) {
		return refused(chain.ErrInvalidArgument, fmt.Sprintf("address %s is in use in the chain", m.Addr))
	}
	if _, ok := s.standby[m.ID]; !ok {
		s.target++
	}
	s.standby[m.ID] = m
	delete(s.removed, m.ID)
	return nil
}

// removeNode takes id out of the chain (or the standby set) for good: it
// is recorded as removed, so that its claim to be a standby node is
// refused (see takesClaim) until it is added again. The last member
// cannot be removed.
func (s *state) removeNode(id string) (bool, error) {
	if err := s.checkBehind(); err != nil {
		return false, err
	}
	if _, ok := s.standby[id]; ok {
		delete(s.standby, id)
		delete(s.nodes, id)
		s.removed[id] = true
		s.target = max(1, s.target-1)
		return false, nil
	}
	next := s.cfg.Clone()
	switch {
	case next.Joining != nil && next.Joining.ID == id:
		next.Joining = nil
	case next.Role(id) == chain.RoleNone:
		return false, refused(chain.ErrInvalidArgument, fmt.Sprintf("no node %q in the chain", id))
	case len(next.Members) == 1:
		return false, refused(chain.ErrInvalidConfig, fmt.Sprintf("%q is the last member of the chain", id))
	default:
		kept := next.Members[:0:0]
		for _, m := range next.Members {
			if m.ID != id {
				kept = append(kept, m)
			}
		}
		if id != s.handoff.ID && !s.hasComplete(kept) {
			return false, refused(chain.ErrInvalidConfig, fmt.Sprintf(
				"%q is the last member holding every committed entry while the new tail %q catches up; try again when it has",
				id, s.handoff.ID))
		}
		next.Members = kept
	}
	if id == s.handoff.ID {
		s.handoff = handoff{}
	}
	next.Epoch++
	s.cfg = next
	delete(s.nodes, id)
	s.removed[id] = true
	s.target = max(1, s.target-1)
	return true, nil
}

// refusal is an operation the state refuses: a sentinel error and what
// was wrong, which the master sends back to the operator.
type refusal struct {
	sentinel error
	detail   string
}

func refused(sentinel error, detail string) error { return &refusal{sentinel, detail} }

func (r *refusal) Error() string { return r.sentinel.Error() + ": " + r.detail }

func (r *refusal) Unwrap() error { return r.sentinel }

// checkBehind refuses changes while the master is behind the chain.
func (s *state) checkBehind() error {
	if s.behind == 0 {
		return nil
	}
	return refused(chain.ErrInvalidConfig, fmt.Sprintf(
		"the master is at epoch %d but the chain at %d: it lost its state or was restarted with an old "+
			"configuration, and changes nothing until a node reports the chain's configuration "+
			"(or it is restarted with the current members and an epoch above %d)",
		s.cfg.Epoch, s.behind, s.behind))
}
