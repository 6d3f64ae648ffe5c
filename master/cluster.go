package master

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// plan is the shape of a partitioned cluster: how many chains to create
// and how many replicas each keeps.
type plan struct {
	Chains   int `json:"chains,omitempty"`
	Replicas int `json:"replicas,omitempty"`
}

// serverRecord is a server the master has placed, or may place, replicas
// on: a process that hosts replicas of many chains at one address.
type serverRecord struct {
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	Incarnation uint64 `json:"inc,omitempty"` // of the process last heard from
}

// serverState is what the leader knows of a server from its beats.
type serverState struct {
	addr     string
	lastSeen time.Time
}

// cluster is the leader's working state: every chain's state machine and,
// in a partitioned cluster, the servers and the placement of replicas on
// them. Like state, it does no I/O and reads no clock.
//
// Placement: a replica of chain c on server s is the node with id
// "s/c" at address wire.ReplicaAddr(s's address, c). The chains of a
// plan are created once Replicas servers report, each on the Replicas
// least loaded servers (load: replicas placed, members, joining and
// standby alike), no server holding two replicas of one chain. A chain
// below its target length whose removed replicas sit on servers that
// stopped reporting gets a replacement on the least loaded live server
// that holds none of its replicas; it joins through the chain's join
// logic like any added node. When the busiest live server holds two
// replicas more than the least busy one, replicas move (a few at a time,
// one per chain): the least busy server gets a new replica of a chain it
// does not hold (the chain's target grows by one), and once that replica
// is a complete member, the busiest server's replica is removed. A chain
// not moving converges to the plan's length: its target is reset to the
// plan's replica count, and a member beyond it (a failed move's
// replacements can both join; or an operator's AddNodeTo) is removed.
type cluster struct {
	timeout time.Duration
	plan    plan
	chains  []*state // in slot order
	servers map[string]*serverState
	known   map[string]serverRecord // every server ever heard of (durable)
	moves   []move                  // the replicas being moved, one per chain
}

// move is a replica moving from one server to another: chain Chain got a
// new replica, To; when it is a complete member the replica From is
// removed.
type move struct {
	Chain string `json:"chain,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// newCluster returns the working state for d, every configured node and
// known server given a full failure timeout from now.
func newCluster(d durable, timeout time.Duration, now time.Time) *cluster {
	cl := &cluster{timeout: timeout, servers: make(map[string]*serverState), known: make(map[string]serverRecord)}
	cl.load(d, now)
	for id, r := range cl.known {
		cl.servers[id] = &serverState{addr: r.Addr, lastSeen: now}
	}
	return cl
}

// load replaces the replicated part of cl with d, keeping what heartbeats
// and beats said.
func (cl *cluster) load(d durable, now time.Time) {
	cl.plan = d.Plan
	cl.moves = slices.Clone(d.Moves)
	old := make(map[string]*state, len(cl.chains))
	for _, s := range cl.chains {
		old[s.id] = s
	}
	cl.chains = cl.chains[:0]
	for _, c := range d.Chains {
		s, ok := old[c.ID]
		if ok {
			s.load(c, now)
		} else {
			s = restoreState(c, cl.timeout, now)
		}
		cl.chains = append(cl.chains, s)
	}
	cl.known = make(map[string]serverRecord, len(d.Servers))
	for _, r := range d.Servers {
		cl.known[r.ID] = r
	}
}

// durable returns the replicated part of cl.
func (cl *cluster) durable() durable {
	d := durable{Plan: cl.plan, Moves: slices.Clone(cl.moves)}
	for _, s := range cl.chains {
		d.Chains = append(d.Chains, s.durable())
	}
	for _, r := range cl.known {
		d.Servers = append(d.Servers, r)
	}
	slices.SortFunc(d.Servers, func(a, b serverRecord) int { return strings.Compare(a.ID, b.ID) })
	return d
}

// chain returns the state of the chain with the given id, or nil.
func (cl *cluster) chain(id string) *state {
	for _, s := range cl.chains {
		if s.id == id {
			return s
		}
	}
	return nil
}

// find returns the state of the chain with the given id, or a refusal.
func (cl *cluster) find(id string) (*state, error) {
	if s := cl.chain(id); s != nil {
		return s, nil
	}
	return nil, refused(chain.ErrInvalidArgument, fmt.Sprintf("no chain %q", id))
}

// blind reports whether the master heard lately from no member of any
// chain it manages.
func (cl *cluster) blind() bool {
	if len(cl.chains) == 0 {
		return false
	}
	for _, s := range cl.chains {
		if !s.blind {
			return false
		}
	}
	return true
}

// dropLost removes, in every chain, the members that lost entries they
// had acknowledged (see state.dropLost), at now; it reports whether any
// chain changed.
func (cl *cluster) dropLost(now time.Time) bool {
	changed := false
	for _, s := range cl.chains {
		if s.dropLost(now) {
			changed = true
		}
	}
	return changed
}

// adopting reports whether a chain's configuration was adopted from the
// nodes and is not yet committed (see state.adopt).
func (cl *cluster) adopting() bool {
	return slices.ContainsFunc(cl.chains, func(s *state) bool { return s.adopted })
}

// adopted records that d, the working state as it was committed, is
// applied: the configurations adopted in it are committed.
func (cl *cluster) adopted(d durable) {
	for _, s := range cl.chains {
		if c, ok := d.chain(s.id); ok && c.Config.Epoch == s.cfg.Epoch {
			s.adopted = false
		}
	}
}

// serverBeat records that server sb.ID is alive at sb.Addr. A volatile
// server in a new incarnation has lost its replicas' logs: its replicas
// that are members are marked lost and leave their chains at the next
// tick (see state.dropLost), and rejoin as new nodes. It reports whether the replicated state changed
// (a server not heard of before, at a new address or in a new
// incarnation).
func (cl *cluster) serverBeat(sb *wire.ServerBeat, now time.Time) bool {
	if cl.plan.Chains == 0 || sb.ID == "" || sb.Addr == "" || strings.Contains(sb.ID, "/") {
		return false
	}
	ss := cl.servers[sb.ID]
	if ss == nil {
		ss = &serverState{}
		cl.servers[sb.ID] = ss
	}
	ss.addr, ss.lastSeen = sb.Addr, now
	r, ok := cl.known[sb.ID]
	if ok && r.Addr == sb.Addr && r.Incarnation == sb.Incarnation {
		return false
	}
	if ok && sb.Volatile && r.Incarnation != sb.Incarnation {
		for _, s := range cl.chains {
			for _, m := range slices.Clone(s.cfg.Members) {
				if serverOf(m.ID) == sb.ID {
					s.markLost(m.ID)
				}
			}
		}
	}
	cl.known[sb.ID] = serverRecord{ID: sb.ID, Addr: sb.Addr, Incarnation: sb.Incarnation}
	return true
}

// serverAlive reports whether server id beat within the failure timeout.
func (cl *cluster) serverAlive(id string, now time.Time) bool {
	ss := cl.servers[id]
	return ss != nil && now.Sub(ss.lastSeen) <= cl.timeout
}

// serverOf returns the server a replica id is placed on ("" for a node
// that is not a placed replica).
func serverOf(replicaID string) string {
	srv, _, ok := strings.Cut(replicaID, "/")
	if !ok {
		return ""
	}
	return srv
}

// replica returns the member for a replica of chain id on server srv.
func (cl *cluster) replica(srv, id string) chain.Member {
	return chain.Member{ID: srv + "/" + id, Addr: wire.ReplicaAddr(cl.known[srv].Addr, id)}
}

// tick runs the failure detector and join logic of every chain, then
// (in a partitioned cluster) creates the planned chains and places
// replicas. It reports whether the replicated state changed.
func (cl *cluster) tick(now time.Time) bool {
	changed := cl.create(now)
	for _, s := range cl.chains {
		if s.tick(now) {
			changed = true
		}
	}
	if cl.plan.Chains > 0 && len(cl.chains) > 0 {
		if cl.replace(now) {
			changed = true
		}
		if cl.rebalance(now) {
			changed = true
		}
		if cl.converge() {
			changed = true
		}
	}
	return changed
}

// converge brings every chain that is not moving, joining or handing off
// back to the planned length: its target is the plan's replica count, and
// a chain longer than that (the replacements of a failed move can both
// join) drops the member on the busiest server. It reports whether it
// changed anything.
func (cl *cluster) converge() bool {
	moving := map[string]bool{}
	for _, mv := range cl.moves {
		moving[mv.Chain] = true
	}
	changed := false
	for _, s := range cl.chains {
		if moving[s.id] || s.behind > 0 || s.blind || s.cfg.Joining != nil || s.handoff.ID != "" {
			continue
		}
		if s.target != cl.plan.Replicas {
			s.target = cl.plan.Replicas
			changed = true
		}
		if len(s.cfg.Members) <= s.target {
			continue
		}
		loads := cl.loads()
		victim := s.cfg.Members[0].ID
		for _, m := range s.cfg.Members[1:] {
			if loads[serverOf(m.ID)] > loads[serverOf(victim)] {
				victim = m.ID
			}
		}
		if _, err := s.removeNode(victim); err != nil {
			continue // try again at the next tick
		}
		s.target = cl.plan.Replicas
		changed = true
	}
	return changed
}

// loads returns the number of replicas placed on each known server.
func (cl *cluster) loads() map[string]int {
	n := make(map[string]int, len(cl.known))
	for id := range cl.known {
		n[id] = 0
	}
	for _, s := range cl.chains {
		for _, id := range s.replicaIDs() {
			if srv := serverOf(id); srv != "" {
				n[srv]++
			}
		}
	}
	return n
}

// leastLoaded returns the live server with the fewest replicas (the
// smallest id among equals) that holds no replica of the chain s (nil:
// of no chain in particular).
func (cl *cluster) leastLoaded(now time.Time, s *state) (string, bool) {
	holds := map[string]bool{}
	if s != nil {
		for _, id := range s.replicaIDs() {
			holds[serverOf(id)] = true
		}
	}
	best, found := "", false
	loads := cl.loads()
	for srv, n := range loads {
		if holds[srv] || !cl.serverAlive(srv, now) {
			continue
		}
		if !found || n < loads[best] || (n == loads[best] && srv < best) {
			best, found = srv, true
		}
	}
	return best, found
}

// create makes the planned chains once enough servers are alive: chain
// i is "c<i>" and serves slots [i*Slots/n, (i+1)*Slots/n).
func (cl *cluster) create(now time.Time) bool {
	if cl.plan.Chains == 0 || len(cl.chains) > 0 {
		return false
	}
	alive := 0
	for id := range cl.known {
		if cl.serverAlive(id, now) {
			alive++
		}
	}
	if alive < cl.plan.Replicas {
		return false
	}
	n := uint32(cl.plan.Chains)
	for i := range n {
		id := fmt.Sprintf("c%d", i)
		s := newState(chain.Config{Epoch: 1}, cl.timeout, now)
		s.id, s.slotLo, s.slotHi = id, i*wire.Slots/n, (i+1)*wire.Slots/n
		cl.chains = append(cl.chains, s)
		for range cl.plan.Replicas {
			srv, _ := cl.leastLoaded(now, s)
			m := cl.replica(srv, id)
			s.cfg.Members = append(s.cfg.Members, m)
			s.nodes[m.ID] = &nodeState{addr: m.Addr, lastSeen: now}
		}
		s.target = cl.plan.Replicas
	}
	return true
}

// replace drops the standby replicas of every chain at its target length
// and, from every chain below it, the standby replicas
// on servers that stopped reporting, and places a replacement on a live
// server when the chain has too few live standby replicas to restore its
// length. A replacement counts as live for a failure timeout from its
// placement, the time its server has to start it.
func (cl *cluster) replace(now time.Time) bool {
	changed := false
	for _, s := range cl.chains {
		if s.behind > 0 || s.blind {
			continue
		}
		if len(s.cfg.Members) >= s.target {
			// At its length, a chain needs no standby replica: a removed
			// member that came back, say, would only weigh on its
			// server's load and keep the chain out of rebalancing.
			if s.cfg.Joining == nil && len(s.standby) > 0 {
				for id := range s.standby {
					delete(s.standby, id)
					delete(s.nodes, id)
				}
				changed = true
			}
			continue
		}
		live := 0
		for id := range s.standby {
			switch {
			case !cl.serverAlive(serverOf(id), now):
				delete(s.standby, id)
				delete(s.nodes, id)
				changed = true
			case s.alive(id, now):
				live++
			}
		}
		if s.cfg.Joining != nil || len(s.cfg.Members)+live >= s.target {
			continue
		}
		srv, ok := cl.leastLoaded(now, s)
		if !ok {
			continue
		}
		m := cl.replica(srv, s.id)
		s.standby[m.ID] = m
		s.nodes[m.ID] = &nodeState{addr: m.Addr, lastSeen: now}
		changed = true
	}
	return changed
}

// maxMoves bounds the replicas moving at once, each of its own chain.
const maxMoves = 4

// rebalance ends the moves whose new replica has joined, then starts
// moves, each from the busiest live server (counting the replicas already
// leaving it as gone) to the least busy one, while they differ by two or
// more, at most maxMoves at a time and one per chain.
func (cl *cluster) rebalance(now time.Time) bool {
	changed := false
	kept := cl.moves[:0]
	for _, mv := range cl.moves {
		done := cl.finishMove(mv, now)
		if done {
			changed = true
		} else {
			kept = append(kept, mv)
		}
	}
	cl.moves = kept
	for len(cl.moves) < maxMoves && cl.startMove(now) {
		changed = true
	}
	return changed
}

// startMove starts one move if the load calls for it and some chain can
// move; it reports whether it did.
func (cl *cluster) startMove(now time.Time) bool {
	loads := cl.loads()
	moving := map[string]bool{}
	for _, mv := range cl.moves {
		loads[serverOf(mv.From)]--
		moving[mv.Chain] = true
	}
	var live []string
	for srv := range loads {
		if cl.serverAlive(srv, now) {
			live = append(live, srv)
		}
	}
	if len(live) < 2 {
		return false
	}
	slices.SortFunc(live, func(a, b string) int { return cmp.Or(cmp.Compare(loads[a], loads[b]), strings.Compare(a, b)) })
	least, most := live[0], live[len(live)-1]
	if loads[most]-loads[least] < 2 {
		return false
	}
	for _, s := range cl.chains {
		from := slices.IndexFunc(s.cfg.Members, func(m chain.Member) bool { return serverOf(m.ID) == most })
		steady := s.cfg.Joining == nil && s.handoff.ID == "" && len(s.standby) == 0 && len(s.cfg.Members) == s.target
		if from < 0 || !steady || moving[s.id] || slices.ContainsFunc(s.replicaIDs(), func(id string) bool { return serverOf(id) == least }) {
			continue
		}
		m := cl.replica(least, s.id)
		s.standby[m.ID] = m
		s.nodes[m.ID] = &nodeState{addr: m.Addr, lastSeen: now} // live while its server starts it
		s.target++
		cl.moves = append(cl.moves, move{Chain: s.id, From: s.cfg.Members[from].ID, To: m.ID})
		return true
	}
	return false
}

// finishMove removes the replica mv replaces once the chain has its extra
// replica as a complete member, and abandons a move whose new replica's
// server died; it reports whether mv is over.
func (cl *cluster) finishMove(mv move, now time.Time) bool {
	s := cl.chain(mv.Chain)
	if s == nil {
		return true
	}
	isMember := func(id string) bool {
		return slices.ContainsFunc(s.cfg.Members, func(m chain.Member) bool { return m.ID == id })
	}
	switch {
	case len(s.cfg.Members) >= s.target && s.handoff.ID == "" && isMember(mv.From):
		// The chain has its extra replica, complete: To, or another
		// standby replica that joined first.
		if _, err := s.removeNode(mv.From); err != nil {
			return false // try again at the next tick
		}
		if !isMember(mv.To) {
			delete(s.standby, mv.To)
			delete(s.nodes, mv.To)
		}
	case !cl.serverAlive(serverOf(mv.To), now) && !isMember(mv.To):
		delete(s.standby, mv.To)
		delete(s.nodes, mv.To)
		if s.cfg.Joining != nil && s.cfg.Joining.ID == mv.To {
			return false // the join logic sends it back to standby first
		}
		if len(s.cfg.Members) >= s.target || s.cfg.Joining != nil || len(s.standby) > 0 {
			// A replacement placed while To was silent has joined (its
			// handoff may still be pending), is joining or is about to: it
			// finishes the move (the first case), and the chain keeps its
			// raised target until then. Ending the move here would leave
			// the chain one member too long.
			return false
		}
		s.target = max(1, s.target-1)
	case !isMember(mv.From):
		// The old replica failed meanwhile; the chain keeps the new one
		// and its target stays one higher than planned: bring it back.
		s.target = max(1, s.target-1)
	default:
		return false
	}
	return true
}

// replicas returns the replicas placed on server srv, in chain order:
// its members, joining and standby nodes of every chain.
func (d durable) replicas(srv string) []wire.Replica {
	return d.replicasOf(srv, 0)
}

// replicasOf returns the replicas placed on the incarnation inc of server
// srv: none while the applied state knows an older incarnation (its
// replicas may still be members, which a restarted volatile server must
// not run as such); inc 0 matches any.
func (d durable) replicasOf(srv string, inc uint64) []wire.Replica {
	if inc != 0 {
		i := slices.IndexFunc(d.Servers, func(r serverRecord) bool { return r.ID == srv })
		if i < 0 || d.Servers[i].Incarnation != inc {
			return nil
		}
	}
	var out []wire.Replica
	for _, c := range d.Chains {
		ms := slices.Clone(c.Config.Members)
		if c.Config.Joining != nil {
			ms = append(ms, *c.Config.Joining)
		}
		ms = append(ms, c.Standby...)
		for _, m := range ms {
			if serverOf(m.ID) == srv {
				out = append(out, wire.Replica{Chain: c.ID, Member: m})
			}
		}
	}
	return out
}

// layout returns the cluster's layout from the applied state d, with the
// liveness the leader's working state cl knows (nil on a follower: every
// server reported as not alive).
func (d durable) layout(cl *cluster, now time.Time) wire.Cluster {
	var out wire.Cluster
	for _, c := range d.Chains {
		out.Chains = append(out.Chains, wire.ChainInfo{ID: c.ID, Config: c.Config.Clone(), SlotLo: c.SlotLo, SlotHi: c.SlotHi})
	}
	for _, r := range d.Servers {
		out.Servers = append(out.Servers, wire.ServerInfo{
			ID: r.ID, Addr: r.Addr, Replicas: len(d.replicas(r.ID)),
			Alive: cl != nil && cl.serverAlive(r.ID, now),
		})
	}
	return out
}

// replicaIDs returns the ids of the chain's members, joining node and
// standby nodes.
func (s *state) replicaIDs() []string {
	ids := s.configured()
	for id := range s.standby {
		ids = append(ids, id)
	}
	return ids
}
