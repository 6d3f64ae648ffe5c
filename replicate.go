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
// predecessor to stream entries from its last offset + 1, appends what comes
// in order, and acknowledges each response with a new pull (which lets the
// stream go on). A lost request or response is recovered by asking for the
// stream from its last offset + 1 again (Restart) after pullTimeout without
// a response it could take; a duplicated, stale or early response is
// recognised by its From and ignored. At the tail, appending commits.
func (n *Node) runPuller(done <-chan struct{}) {
	timer := time.NewTimer(n.pullTimeout())
	defer timer.Stop()
	session := rand.Uint64()
	restart := true
	for {
		cfg := n.cfg.Load()
		_, last, commit, _ := n.log.state()
		n.send(cfg.pred, &PullRequest{Epoch: cfg.Epoch, Session: session, Next: last + 1, Commit: commit,
			MaxBytes: n.opts.maxBatchBytes, Restart: restart})
		timer.Reset(n.pullTimeout())
		resp, ok := n.awaitPullResponse(last+1, timer.C, done)
		if !ok {
			return
		}
		restart = resp == nil
		if resp == nil {
			continue // timed out: ask for the stream again
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

// runPullServer is the predecessor side of the replication link: from the
// successor's pull on, it streams the entries from the pull's Next as they
// arrive, in responses bounded by the pull's MaxBytes, staying at most
// streamWindow responses ahead of the successor's acknowledgments; with
// nothing sent for the poll interval it sends an empty response, which
// tells the successor the link is alive.
func (n *Node) runPullServer(done <-chan struct{}) {
	poll := time.NewTimer(n.opts.pollInterval)
	defer poll.Stop()
	var stream pullStream
	for {
		if !stream.active {
			select {
			case p := <-n.pulls:
				stream.take(p)
				poll.Reset(n.opts.pollInterval)
			case <-done:
				return
			}
		}
		first, last, commit, changed := n.log.state()
		if stream.canSend() && (stream.next <= last || stream.next < first || stream.next > last+1) {
			if err := n.serveStream(&stream, first, last, commit); err != nil {
				n.fail(err)
				return
			}
			poll.Reset(n.opts.pollInterval)
			continue
		}
		select {
		case p := <-n.pulls:
			stream.take(p)
		case <-changed:
		case <-poll.C:
			if stream.canSend() {
				n.sendPullResponse(&PullResponse{From: stream.next, Commit: commit, Last: last})
				stream.sent(stream.next)
			}
			poll.Reset(n.opts.pollInterval)
		case <-done:
			return
		}
	}
}

// serveStream sends the next response of the stream: the entries from
// stream.next, or a refusal that ends the stream when the log does not hold
// stream.next.
func (n *Node) serveStream(stream *pullStream, first, last, commit uint64) error {
	if stream.next < first || stream.next > last+1 {
		n.sendPullResponse(&PullResponse{From: stream.next, Commit: commit, Last: last, Err: &RemoteError{
			Code:    CodeOutOfRange,
			Message: fmt.Sprintf("pull from %d: log holds [%d, %d]", stream.next, first, last),
		}})
		stream.stop()
		return nil
	}
	maxBytes := n.opts.maxBatchBytes
	if stream.maxBytes > 0 {
		maxBytes = min(maxBytes, stream.maxBytes)
	}
	ents, err := n.log.entries(stream.next, last+1, maxBytes)
	if err != nil {
		return fmt.Errorf("serve pull: %w", err)
	}
	n.counters.pullsSent.Add(uint64(len(ents)))
	n.sendPullResponse(&PullResponse{From: stream.next, Commit: commit, Last: last, Entries: ents})
	stream.sent(stream.next + uint64(len(ents)))
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
