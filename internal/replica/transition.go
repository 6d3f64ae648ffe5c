package replica

import "github.com/chainrep/chain/wire"

// Change is a change of a node's configuration as the node sees it: the
// role it had and the role the new configuration gives it.
type Change struct {
	Old wire.Role // wire.RoleNone when the node is starting
	New wire.Role
	// Starting is set when the node starts on its log (a restart), rather
	// than adopting a new configuration while it runs.
	Starting bool
	// UnderMaster is set when a master drives the node's configuration (its
	// configuration at start may be out of date).
	UnderMaster bool
	// CatchingUp is set when, under Old, the node was a new tail still
	// catching up with its predecessor.
	CatchingUp bool
	// HasSuccessor is set when the new configuration gives the node a
	// successor to feed (a next member, or a joining node behind the tail).
	HasSuccessor bool
}

// Plan is what a node must do to move to its new configuration, besides
// applying the commit rule in it (which commits all a new tail holds unless
// it is catching up).
type Plan struct {
	// DropUncommitted: the node rejoins as a new node: it keeps only what
	// it knows to be committed, which every member holds identically.
	DropUncommitted bool
	// CatchingUp: the node is a tail that must catch up with its
	// predecessor before it commits on its own or serves reads.
	CatchingUp bool
	// Complete: the node is a member holding every committed entry.
	Complete bool
	// RecoverInFlight: the node becomes the head: the commands in its log
	// and not yet applied are in flight, so their retries are not ordered
	// again.
	RecoverInFlight bool
	// Unplaced: the node starts under a master and takes no place in the
	// configuration it starts with (it runs no role, serves nothing and
	// commits nothing on its own) until the master confirms its place in
	// the current configuration (wire.ConfigUpdate.Confirmed); it then
	// moves there from no role.
	Unplaced bool
	// Loops are the goroutines of the new role.
	Loops Loops
}

// Loops are the goroutines that serve a role; the receiver and the applier
// run in every role.
type Loops struct {
	Sequencer      bool // the head orders writes
	Puller         bool // every other member, and the joining node, pulls from its predecessor
	PullServer     bool // a node with a successor streams to it
	CommitNotifier bool // a middle node tells its predecessor its commit point
	ReadWorkers    bool // the tail answers queries and reads
}

// Transition is the configuration transition rule.
//
//   - A node that starts under a master is unplaced: the configuration it
//     starts with may be out of date (a member list it was removed from),
//     and its storage may have lost what it had acknowledged; the master
//     confirms its place, and it moves there as from no role.
//   - A node that becomes the joining node from another role drops its
//     uncommitted suffix: it rejoins as a new node.
//   - A tail with a predecessor must catch up with it first (Plan.CatchingUp)
//     when it was the joining node, when a handoff was pending and it stays
//     tail, and when it comes from no role (placed by the master after a
//     restart, or given its first configuration): it may be a new tail
//     that had not caught up when it stopped. A static chain's tail
//     restarting holds what it held and catches up with no one; a head has
//     no predecessor.
//   - A member not catching up holds every committed entry (Complete).
//   - A node that becomes the head, or starts as the head, recovers the
//     commands in flight.
func Transition(c Change) Plan {
	if c.Starting && c.UnderMaster {
		return Plan{Unplaced: true}
	}
	p := Plan{
		DropUncommitted: c.New == wire.RoleJoining && c.Old != wire.RoleJoining && !c.Starting,
		CatchingUp:      catchingUp(c),
		RecoverInFlight: c.New.IsHead() && (c.Starting || !c.Old.IsHead()),
		Loops:           loopsFor(c.New, c.HasSuccessor),
	}
	p.Complete = c.New.IsMember() && !p.CatchingUp
	return p
}

func catchingUp(c Change) bool {
	if !c.New.IsTail() || c.New.IsHead() {
		return false
	}
	switch {
	case c.Starting:
		return false
	case c.Old == wire.RoleJoining, c.Old == wire.RoleNone:
		return true
	}
	return c.Old.IsTail() && c.CatchingUp
}

func loopsFor(r wire.Role, hasSuccessor bool) Loops {
	return Loops{
		Sequencer:      r.IsHead(),
		Puller:         r != wire.RoleNone && !r.IsHead(),
		PullServer:     hasSuccessor,
		CommitNotifier: r == wire.RoleMiddle,
		ReadWorkers:    r.IsTail(),
	}
}
