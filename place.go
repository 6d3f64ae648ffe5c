package chain

import (
	"fmt"
	"time"

	"github.com/chainrep/chain/wire"
)

// A node started under a master is unplaced (replica.Plan.Unplaced): the
// configuration it was started with may be one it has since been removed
// from, and its storage may have lost what it had acknowledged (wiped, or
// behind what the master knows it held). Until the master's leader
// confirms its place in the current configuration, in a reply to a
// heartbeat that names the node's storage incarnation
// (wire.ConfigUpdate.Confirmed), it runs no role: it orders nothing,
// serves nothing, commits nothing on its own and adopts no configuration.
// Confirmed, it moves to its place as from no role (a tail catches up
// with its predecessor first; a joining node drops its uncommitted
// suffix). A master removes a member whose storage lost entries and
// confirms nothing for it; it rejoins as a new node.

// unplaced is what an unplaced node runs: no configuration (epoch 0, as
// its heartbeats report: the one it was started with may be out of date,
// and the master learns nothing from it).
func unplaced() *nodeConfig { return &nodeConfig{} }

// onReplyUnplaced takes the master's reply u while the node is not placed
// and reports whether it did (false once placed). A reply that confirms
// the node's place is queued for the reconfigurer; any other is dropped.
func (n *Node) onReplyUnplaced(u *wire.ConfigUpdate, leader bool, echo time.Duration) bool {
	if n.placed.Load() {
		return false
	}
	if !leader || u.Confirmed == 0 || u.Confirmed != n.incarnation {
		n.setFenceCause("restarted: waiting for the master to confirm the node's place in the chain")
		return true
	}
	n.master.offer(pendingConfig{cfg: u.Config, echo: echo, place: true})
	return true
}

// noteStandby takes a message from the master (leader: from its group's
// leader): once the leader tells the node it is a standby node of its
// chain (wire.ConfigUpdate.Standby), the node records so on its storage
// and reports it in every heartbeat from then on, across restarts
// (wire.Heartbeat.Standby), so that a master that loses its state, and
// with it the standby nodes it held, takes the node back as one (see
// package master). The mark is never cleared: it says that a master once
// held the node in its chain, and a master that knows the node, or
// removed it for good, decides by what it knows. A failure to record it
// is a failed write: the node stops (fail-stop).
func (n *Node) noteStandby(u *wire.ConfigUpdate, leader bool) {
	if !leader || !u.Standby || n.standby.Load() {
		return
	}
	if err := saveStandby(n.opts.storage); err != nil {
		n.fail(err)
		return
	}
	n.standby.Store(true)
}

// setFenceCause records why the node is fenced, for its refusals; "" when
// it is fenced only for want of contact with the master.
func (n *Node) setFenceCause(cause string) {
	if old := n.fenceCause.Load(); old == nil || *old != cause {
		n.fenceCause.Store(&cause)
	}
}

// masterBehind records, and logs once per master epoch, that the master
// answers with a configuration older than the node's.
func (n *Node) masterBehind(masterEpoch, epoch uint64) {
	n.setFenceCause(fmt.Sprintf("the master is behind the chain (its epoch %d, the node's %d): "+
		"it lost its state or was given an old configuration", masterEpoch, epoch))
	if n.behindWarned.Swap(masterEpoch) != masterEpoch {
		n.logger.Warn("the master's configuration is older than the node's: the master lost its state "+
			"(restarted without its data?) or was given an old configuration; the node ignores it and "+
			"stays fenced until the master runs the chain's configuration",
			"master epoch", masterEpoch, "epoch", epoch)
	}
}
