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

// restoreCommit sets the commit point of a node starting on its log: the
// point an earlier run saved counts as reported (up to what the log
// holds). A tail of a static chain or a sole member then commits all it
// holds, by the rule in its configuration; under a master the
// configuration the node starts with may be out of date, so the rule
// waits for the master to confirm it (onConfigUpdate) or name another. It
// returns the restored point: entries through it were answered by an
// earlier run.
func (n *Node) restoreCommit(saved uint64, nc *nodeConfig, catchingUp bool) (restored uint64) {
	_, last, _, _ := n.log.state()
	restored = replica.DecideCommit(replica.CommitState{Last: last}, replica.Report{Commit: saved}).Commit
	n.log.recordCommit(restored)
	if len(n.opts.masters) == 0 {
		n.decideCommit(nc, catchingUp, replica.Report{})
	}
	return restored
}
