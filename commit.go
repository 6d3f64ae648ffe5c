package chain

import "github.com/chainrep/chain/internal/replica"

// commitReported applies the commit rule (replica.DecideCommit) to what the
// node holds now, in its current configuration, and to r, and records the
// decision. A catching-up tail that has caught up leaves the handoff: from
// then on it is complete and serves.
func (n *Node) commitReported(r replica.Report) {
	nc := n.cfg.Load()
	d := n.decideCommit(nc, n.handoffPending.Load(), r)
	if d.CaughtUp && n.handoffPending.CompareAndSwap(true, false) {
		n.completeAt.Store(nc.Epoch)
		n.logger.Info("caught up with the predecessor; serving as tail", "commit", d.Commit)
	}
}

// decideCommit applies the commit rule for a node running nc, catching up
// with its predecessor or not, and records the commit point it decides.
func (n *Node) decideCommit(nc *nodeConfig, catchingUp bool, r replica.Report) replica.CommitDecision {
	_, last, commit, _ := n.log.state()
	d := replica.DecideCommit(replica.CommitState{
		Tail: nc.role.IsTail(), CatchingUp: catchingUp, Commit: commit, Last: last,
	}, r)
	n.log.recordCommit(d.Commit)
	return d
}
