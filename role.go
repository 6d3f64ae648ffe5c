package chain

import (
	"context"
	"fmt"
	"sync"

	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// roleRun is the set of goroutines serving the node's current role:
// ordering at the head, pulling from the predecessor, serving the
// successor, reads at the tail. A configuration change stops them and
// starts those of the new role; the receiver and the applier run
// throughout.
type roleRun struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startRole starts the goroutines of nc's role, as the transition rule
// names them. n.roleMu must be held (or the node not yet serving).
func (n *Node) startRole(loops replica.Loops) {
	ctx, cancel := context.WithCancel(n.lifecycle.ctx)
	r := &roleRun{ctx: ctx, cancel: cancel}
	n.role = r
	spawn := func(f func(done <-chan struct{})) {
		r.wg.Add(1)
		if !n.lifecycle.spawn(func() { defer r.wg.Done(); f(ctx.Done()) }) {
			r.wg.Done()
		}
	}
	if loops.Sequencer {
		spawn(n.runSequencer)
	}
	if loops.Puller {
		spawn(n.runPuller)
	}
	if loops.PullServer {
		spawn(n.runPullServer)
	}
	if loops.CommitNotifier {
		spawn(n.runCommitNotifier)
	}
	if loops.ReadWorkers {
		for range n.opts.queryWorkers {
			spawn(n.runReadWorker)
		}
	}
}

// stopRole stops the current role's goroutines and clears the queues they
// served, refusing the requests still waiting so their clients retry
// elsewhere. n.roleMu must be held.
func (n *Node) stopRole() {
	if n.role == nil {
		return
	}
	n.role.cancel()
	n.role.wg.Wait()
	n.role = nil
	refusal := &RemoteError{Code: wire.CodeNotHead, Message: "configuration changed"}
	for {
		select {
		case w := <-n.writes:
			n.quota.release(w.client)
			n.refuse(w.client, w.req.ID, refusal)
		case r := <-n.reads:
			n.quota.release(r.client)
			n.refuse(r.client, r.req.ID, &RemoteError{Code: wire.CodeNotTail, Message: "configuration changed"})
		case <-n.pulls:
		case <-n.pullResps:
		default:
			return
		}
	}
}

// Reconfigure moves the node to cfg, a configuration with a higher epoch:
// its role's goroutines stop and the new role's start. A node that becomes
// the tail commits everything it holds (its log holds everything the old
// tail did) unless it was the joining node, which first catches up with
// the old tail (see handoff). A node that becomes the joining node drops
// its uncommitted suffix first: it rejoins as a new node. A configuration
// with an epoch at or below the node's is ignored. The master calls this
// through its messages; tests may call it directly.
func (n *Node) Reconfigure(cfg Config) error { return n.reconfigure(cfg, false) }

// reconfigure is Reconfigure; with place, cfg is a configuration in which
// the master confirmed the node's place, and a node not yet placed (see
// place.go) takes it even at the epoch it holds, moving there from no
// role.
func (n *Node) reconfigure(cfg Config, place bool) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("reconfigure node %q: %w", n.id, err)
	}
	n.roleMu.Lock()
	defer n.roleMu.Unlock()
	if n.log == nil {
		return fmt.Errorf("reconfigure node %q: %w", n.id, ErrNotStarted)
	}
	if err := n.lifecycle.err(); err != nil {
		return fmt.Errorf("reconfigure node %q: %w", n.id, err)
	}
	old := n.cfg.Load()
	placing := place && !n.placed.Load()
	if cfg.Epoch < old.Epoch || (cfg.Epoch == old.Epoch && !placing) {
		return nil
	}
	nc := newNodeConfig(cfg.Clone(), n.id)
	plan := replica.Transition(replica.Change{Old: old.role, New: nc.role,
		CatchingUp: n.handoffPending.Load(), HasSuccessor: nc.succ != ""})
	n.stopRole()
	if plan.DropUncommitted {
		if err := n.dropUncommitted(); err != nil {
			n.fail(err)
			return fmt.Errorf("reconfigure node %q: %w", n.id, err)
		}
	}
	n.handoffPending.Store(plan.CatchingUp)
	if plan.Complete {
		n.completeAt.Store(cfg.Epoch)
	}
	n.decideCommit(nc, plan.CatchingUp, replica.Report{}) // a new tail commits all it holds
	if plan.RecoverInFlight {
		// Hold off the applier while the commands not yet applied are
		// recorded, so none is applied between the scan and the record.
		n.stateMu.RLock()
		err := n.recoverOrdered(n.applied.get() + 1)
		n.stateMu.RUnlock()
		if err != nil {
			n.fail(err)
			return fmt.Errorf("reconfigure node %q: %w", n.id, err)
		}
	}
	n.cfg.Store(nc)
	// The successor, even at the same address, starts afresh in the new
	// configuration (a rejoining node drops its uncommitted entries).
	n.successorAcked.reset()
	n.linkAdopted(nc)
	n.placed.Store(true) // a configuration given directly places the node too
	if placing {
		n.logger.Info("the master confirmed the node's place", "epoch", cfg.Epoch, "role", nc.role.String(),
			"catching up", plan.CatchingUp)
	}
	n.logger.Info("reconfigured", "epoch", cfg.Epoch, "role", nc.role.String(), "was", old.role.String())
	n.startRole(plan.Loops)
	return nil
}

// dropUncommitted removes the entries above the commit point: a node that
// rejoins keeps only what it knows to be committed, which every member
// holds identically.
func (n *Node) dropUncommitted() error {
	return n.log.truncateAfterCommit()
}
