package chain

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// pullTimeout is how long the puller waits for a response before asking
// again: long enough for a held pull to be answered empty.
func (n *Node) pullTimeout() time.Duration { return 3 * n.opts.pollInterval }

// runPuller is the successor side of the replication link: it asks the
// predecessor for the entries from its last offset + 1, appends what comes
// back in order, and asks again. A lost request or response is recovered by
// asking again after pullTimeout; a duplicated or stale response is
// recognised by its From and ignored. At the tail, appending commits.
func (n *Node) runPuller(done <-chan struct{}) {
	timer := time.NewTimer(n.pullTimeout())
	defer timer.Stop()
	session := rand.Uint64()
	for {
		cfg := n.cfg.Load()
		_, last, commit, _ := n.log.state()
		n.send(cfg.pred, &PullRequest{Epoch: cfg.Epoch, Session: session, Next: last + 1, Commit: commit,
			MaxBytes: n.opts.maxBatchBytes})
		timer.Reset(n.pullTimeout())
		resp, ok := n.awaitPullResponse(last+1, timer.C, done)
		if !ok {
			return
		}
		if resp == nil {
			continue // timed out: ask again
		}
		if err := n.acceptPulled(resp, done); err != nil {
			n.fail(err)
			return
		}
	}
}

// awaitPullResponse waits for the response to the pull for next. It returns
// nil on timeout and false when the node halts.
func (n *Node) awaitPullResponse(next uint64, timeout <-chan time.Time, done <-chan struct{}) (*PullResponse, bool) {
	for {
		select {
		case r := <-n.pullResps:
			if r.From == next {
				return r, true
			}
			// A duplicate or a response to an earlier pull: ignore it.
		case <-timeout:
			return nil, true
		case <-done:
			return nil, false
		}
	}
}

// acceptPulled appends the entries of a response and advances the commit
// point. It returns an error only for a failed storage write, which stops
// the node.
func (n *Node) acceptPulled(r *PullResponse, done <-chan struct{}) error {
	if r.Err != nil {
		n.logger.Warn("predecessor refused pull", "from", r.From, "err", r.Err)
		select {
		case <-time.After(n.opts.pollInterval):
		case <-done:
		}
		return nil
	}
	if err := checkDense(r.From, r.Entries); err != nil {
		n.logger.Warn("dropped malformed pull response", "err", err)
		return nil
	}
	if err := n.log.append(r.Entries); err != nil {
		return err
	}
	n.counters.received.Add(uint64(len(r.Entries)))
	_, last, _, _ := n.log.state()
	switch {
	case !n.cfg.Load().role.IsTail():
		n.log.advanceCommit(r.Commit)
	case n.handoffPending.Load():
		// A new tail first catches up with its predecessor: r comes from
		// it in the new epoch, so it no longer commits on its own, and it
		// holds every entry the old tail committed.
		n.log.advanceCommit(r.Commit)
		if last >= r.Last {
			n.handoffPending.Store(false)
			n.completeAt.Store(n.cfg.Load().Epoch)
			n.log.advanceCommit(last)
			n.logger.Info("caught up with the predecessor; serving as tail", "commit", last)
		}
	default:
		n.log.advanceCommit(last)
	}
	return nil
}

// checkDense verifies that ents hold consecutive offsets starting at from.
func checkDense(from uint64, ents []Entry) error {
	for i := range ents {
		if ents[i].Offset != from+uint64(i) {
			return fmt.Errorf("entry %d has offset %d, want %d: %w", i, ents[i].Offset, from+uint64(i), ErrNotDense)
		}
	}
	return nil
}

// runPullServer is the predecessor side of the replication link: it holds
// the successor's latest pull until entries from its Next exist, then sends
// them (bounded by the pull's MaxBytes); with nothing new by the poll
// interval it answers empty, which tells the successor the link is alive.
func (n *Node) runPullServer(done <-chan struct{}) {
	poll := time.NewTimer(n.opts.pollInterval)
	defer poll.Stop()
	var pending *PullRequest
	for {
		if pending == nil {
			select {
			case pending = <-n.pulls:
				poll.Reset(n.opts.pollInterval)
			case <-done:
				return
			}
		}
		first, last, commit, changed := n.log.state()
		if pending.Next <= last || pending.Next < first || pending.Next > last+1 {
			if err := n.servePull(pending, first, last, commit); err != nil {
				n.fail(err)
				return
			}
			pending = nil
			continue
		}
		select {
		case p := <-n.pulls:
			pending = laterPull(pending, p)
		case <-changed:
		case <-poll.C:
			n.sendPullResponse(&PullResponse{From: pending.Next, Commit: commit, Last: last})
			pending = nil
		case <-done:
			return
		}
	}
}

// servePull answers p with the entries from p.Next, or with an error when
// the log does not hold p.Next.
func (n *Node) servePull(p *PullRequest, first, last, commit uint64) error {
	if p.Next < first || p.Next > last+1 {
		n.sendPullResponse(&PullResponse{From: p.Next, Commit: commit, Last: last, Err: &RemoteError{
			Code:    CodeOutOfRange,
			Message: fmt.Sprintf("pull from %d: log holds [%d, %d]", p.Next, first, last),
		}})
		return nil
	}
	maxBytes := n.opts.maxBatchBytes
	if p.MaxBytes > 0 {
		maxBytes = min(maxBytes, p.MaxBytes)
	}
	ents, err := n.log.entries(p.Next, last+1, maxBytes)
	if err != nil {
		return fmt.Errorf("serve pull: %w", err)
	}
	n.counters.pullsSent.Add(uint64(len(ents)))
	n.sendPullResponse(&PullResponse{From: p.Next, Commit: commit, Last: last, Entries: ents})
	return nil
}

func (n *Node) sendPullResponse(r *PullResponse) {
	cfg := n.cfg.Load()
	r.Epoch = cfg.Epoch
	n.send(cfg.succ, r)
}

// runCommitNotifier runs on middle nodes: whenever the commit point moves
// it tells the predecessor, whose pull from us may be held for a while.
// Bursts of advances coalesce into one notice.
func (n *Node) runCommitNotifier(done <-chan struct{}) {
	var sent uint64
	for {
		_, _, commit, changed := n.log.state()
		if commit > sent {
			cfg := n.cfg.Load()
			n.send(cfg.pred, &CommitNotice{Epoch: cfg.Epoch, Commit: commit})
			sent = commit
		}
		select {
		case <-changed:
		case <-done:
			return
		}
	}
}
