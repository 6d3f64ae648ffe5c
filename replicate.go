package chain

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// pullTimeout is how long the puller waits for a response before asking
// again: long enough for a held pull to be answered empty.
func (n *Node) pullTimeout() time.Duration { return 3 * n.pollInterval() }

// runPuller is the successor side of the replication link (the rules are
// replica.Puller's): it asks the predecessor to stream entries from its
// last offset + 1, appends what comes in order, and acknowledges each
// response with a new pull (which lets the stream go on). After
// pullTimeout without a response it could take, it asks for the stream
// again. At the tail, appending commits.
func (n *Node) runPuller(done <-chan struct{}) {
	timer := time.NewTimer(n.pullTimeout())
	defer timer.Stop()
	puller := replica.NewPuller(rand.Uint64())
	for {
		cfg := n.cfg.Load()
		_, last, commit, _ := n.log.state()
		p := puller.Pull(last, n.opts.maxBatchBytes)
		n.send(cfg.pred, &wire.PullRequest{Epoch: cfg.Epoch, Run: p.Run, Next: p.Next, Commit: commit,
			MaxBytes: p.MaxBytes, Restart: p.Restart})
		timer.Reset(n.pullTimeout())
		resp, ok := n.awaitPullResponse(&puller, timer.C, done)
		if !ok {
			return
		}
		if resp == nil {
			puller.TimedOut()
			continue
		}
		puller.Took()
		n.linkFromPred(resp.Epoch)
		if err := n.acceptPulled(resp, done); err != nil {
			n.fail(err)
			return
		}
	}
}

// awaitPullResponse waits for the response that answers the puller's latest
// pull, ignoring any other. It returns nil on timeout and false when the
// node halts.
func (n *Node) awaitPullResponse(puller *replica.Puller, timeout <-chan time.Time, done <-chan struct{}) (*wire.PullResponse, bool) {
	for {
		select {
		case r := <-n.pullResps:
			if puller.Answers(r.From) {
				return r, true
			}
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
func (n *Node) acceptPulled(r *wire.PullResponse, done <-chan struct{}) error {
	if r.Err != nil {
		n.logger.Warn("predecessor refused pull", "from", r.From, "err", r.Err)
		select {
		case <-time.After(n.pollInterval()):
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
	n.commitReported(replica.Report{Commit: r.Commit, FromPredecessor: true, PredLast: r.Last})
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

// runPullServer is the predecessor side of the replication link (the rules
// are replica.Stream's): from the successor's pull on, it streams the
// entries from the pull's Next as they arrive, in responses bounded by the
// pull's MaxBytes, at most replica.StreamWindow responses ahead of the
// successor's acknowledgments; with nothing sent for the poll interval it
// sends an empty response, which tells the successor the link is alive.
func (n *Node) runPullServer(done <-chan struct{}) {
	poll := time.NewTimer(n.pollInterval())
	defer poll.Stop()
	var stream replica.Stream
	for {
		if !stream.Active() {
			select {
			case p := <-n.pulls:
				stream.Take(pullOf(p))
				poll.Reset(n.pollInterval())
			case <-done:
				return
			}
		}
		first, last, commit, changed := n.log.state()
		switch stream.Action(first, last) {
		case replica.StreamRefuse:
			n.sendPullResponse(&wire.PullResponse{From: stream.Next(), Commit: commit, Last: last, Err: &RemoteError{
				Code:    wire.CodeOutOfRange,
				Message: fmt.Sprintf("pull from %d: log holds [%d, %d]", stream.Next(), first, last),
			}})
			stream.Stop()
			poll.Reset(n.pollInterval())
			continue
		case replica.StreamSend:
			if err := n.sendEntries(&stream, last, commit); err != nil {
				n.fail(err)
				return
			}
			poll.Reset(n.pollInterval())
			continue
		}
		select {
		case p := <-n.pulls:
			stream.Take(pullOf(p))
		case <-changed:
		case <-poll.C:
			if stream.CanSend() {
				n.sendPullResponse(&wire.PullResponse{From: stream.Next(), Commit: commit, Last: last})
				stream.Sent(stream.Next())
			}
			poll.Reset(n.pollInterval())
		case <-done:
			return
		}
	}
}

// sendEntries sends the stream's next response: the entries from its Next
// through at most last.
func (n *Node) sendEntries(stream *replica.Stream, last, commit uint64) error {
	ents, err := n.log.entries(stream.Next(), last+1, stream.MaxBytes(n.opts.maxBatchBytes))
	if err != nil {
		return fmt.Errorf("serve pull: %w", err)
	}
	n.counters.pullsSent.Add(uint64(len(ents)))
	if len(ents) > 0 {
		n.metrics.hop.sent(ents[len(ents)-1].Offset, time.Now())
	}
	n.sendPullResponse(&wire.PullResponse{From: stream.Next(), Commit: commit, Last: last, Entries: ents})
	stream.Sent(stream.Next() + uint64(len(ents)))
	return nil
}

func (n *Node) sendPullResponse(r *wire.PullResponse) {
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
			n.send(cfg.pred, &wire.CommitNotice{Epoch: cfg.Epoch, Commit: commit})
			sent = commit
		}
		select {
		case <-changed:
		case <-done:
			return
		}
	}
}
