package chain

import (
	"sync"
	"time"

	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// runReceiver dispatches incoming messages until the endpoint closes. It
// never blocks on a full queue: a client request that finds no room is
// refused with ErrBusy, and replication messages are dropped (the sender
// retries), so replication traffic always gets through. A message its
// sender's verified identity may not send (auth.Authorize) is refused,
// counted in Stats.Unauthorized and logged.
func (n *Node) runReceiver() {
	for in := range n.ep.Receive() {
		if !n.guard.Admit(in.From, in.Msg, in.Peer) {
			continue
		}
		switch m := in.Msg.(type) {
		case *wire.ClientRequest:
			n.onClientRequest(in.From, m)
		case *wire.RequestBatch:
			for i := range m.Requests {
				n.onClientRequest(in.From, &m.Requests[i])
			}
		case *wire.PullRequest:
			n.onPullRequest(in.From, m)
		case *wire.PullResponse:
			n.onPullResponse(in.From, m)
		case *wire.CommitNotice:
			n.onCommitNotice(in.From, m)
		case *wire.ConfigUpdate:
			n.onConfigUpdate(in.From, m)
		default:
			n.logger.Debug("ignored message", "from", in.From, "kind", in.Msg.Kind())
		}
	}
}

// onClientRequest validates a client request and queues it for the
// sequencer (writes) or a read worker (everything else), within its
// sender's quota of queued requests (WithMaxPendingPerClient).
func (n *Node) onClientRequest(from string, req *wire.ClientRequest) {
	if req.Op == wire.OpStatus {
		// Any node answers, serving or not: status is how operators
		// find out why it stopped.
		n.send(from, &wire.ClientResponse{ID: req.ID, Status: n.status()})
		return
	}
	if err := n.admit(req); err != nil {
		n.refuse(from, req.ID, err)
		return
	}
	if !n.quota.acquire(from) {
		n.refuse(from, req.ID, &RemoteError{Code: wire.CodeBusy, Message: "too many pending requests from this connection"})
		return
	}
	switch req.Op {
	case wire.OpAppend, wire.OpCommand:
		select {
		case n.writes <- pendingWrite{client: from, req: req}:
		default:
			n.quota.release(from)
			n.refuse(from, req.ID, &RemoteError{Code: wire.CodeBusy, Message: "write queue full"})
		}
	default:
		select {
		case n.reads <- pendingRead{client: from, req: req}:
		default:
			n.quota.release(from)
			n.refuse(from, req.ID, &RemoteError{Code: wire.CodeBusy, Message: "read queue full"})
		}
	}
}

// admit decides, by the admission rule (replica.Admit), whether this node
// can take req.
func (n *Node) admit(req *wire.ClientRequest) *RemoteError {
	cfg := n.cfg.Load()
	v := replica.NodeView{
		Fenced:       n.fenced(),
		Superseding:  n.master.superseding.Load(),
		Epoch:        cfg.Epoch,
		Role:         cfg.role,
		HeadAddr:     headAddr(cfg.Config),
		TailAddr:     tailAddr(cfg.Config),
		CatchingUp:   n.handoffPending.Load(),
		MaxEntrySize: n.opts.maxEntrySize,
		Handlers:     (*registeredHandlers)(n),
	}
	if err := n.lifecycle.err(); err != nil {
		v.Halted = err.Error()
	}
	if c := n.fenceCause.Load(); v.Fenced && c != nil {
		v.FenceCause = *c
	}
	if !v.Fenced {
		v.Fenced, v.FenceCause = n.linkCut(cfg)
	}
	return replica.Admit(v, req)
}

// refuse answers a client request with an error.
func (n *Node) refuse(to string, id uint64, err *RemoteError) {
	n.counters.refused.Add(1)
	n.metrics.refused(err.Code)
	n.send(to, &wire.ClientResponse{ID: id, Err: err})
}

// fromPeer reports whether a replication message comes from the expected
// neighbour and the current epoch; anything else is dropped.
func (n *Node) fromPeer(from, want string, epoch uint64) bool {
	cfg := n.cfg.Load()
	if from != want || want == "" {
		return false
	}
	if epoch != cfg.Epoch {
		n.logger.Debug("dropped message from another epoch", "from", from, "epoch", epoch, "ours", cfg.Epoch)
		return false
	}
	return true
}

// onPullRequest takes the successor's pull: its Next acknowledges every
// entry below, its Commit is reported to the commit rule, and the pull
// waits for the pull server, replacing an older one it supersedes.
func (n *Node) onPullRequest(from string, p *wire.PullRequest) {
	if !n.fromPeer(from, n.cfg.Load().succ, p.Epoch) {
		return
	}
	n.linkFromSucc(p.Epoch)
	n.commitReported(replica.Report{Commit: p.Commit})
	n.successorAcked.note(from, p.Next-1)
	if p.Next > 0 {
		n.metrics.hop.acked(p.Next-1, time.Now())
	}
	for {
		select {
		case n.pulls <- p:
			return
		default:
		}
		select {
		case old := <-n.pulls:
			if !replica.Supersedes(pullOf(p), pullOf(old)) {
				p = old
			}
		default:
		}
	}
}

// pullOf returns what a pull request asks of the stream.
func pullOf(p *wire.PullRequest) replica.Pull {
	return replica.Pull{Run: p.Run, Next: p.Next, Restart: p.Restart, MaxBytes: p.MaxBytes}
}

// onPullResponse hands a predecessor's response to the puller.
func (n *Node) onPullResponse(from string, r *wire.PullResponse) {
	if !n.fromPeer(from, n.cfg.Load().pred, r.Epoch) {
		return
	}
	select {
	case n.pullResps <- r:
	default: // the puller is behind; it will pull again
	}
}

// onCommitNotice advances the commit point reported by the successor.
func (n *Node) onCommitNotice(from string, c *wire.CommitNotice) {
	if n.fromPeer(from, n.cfg.Load().succ, c.Epoch) {
		n.linkFromSucc(c.Epoch)
		n.commitReported(replica.Report{Commit: c.Commit})
	}
}

// successorAck is the highest offset a node's successor has acknowledged
// holding, tagged with the successor's address so that an acknowledgment
// from a former successor never counts for a new one.
type successorAck struct {
	mu   sync.Mutex
	addr string
	off  uint64
}

// note records that the successor at addr holds every entry through off.
func (a *successorAck) note(addr string, off uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr != a.addr {
		a.addr, a.off = addr, off
		return
	}
	a.off = max(a.off, off)
}

// of returns what the successor at addr has acknowledged, 0 if another
// successor made the last acknowledgment.
func (a *successorAck) of(addr string) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr != a.addr {
		return 0
	}
	return a.off
}

// reset forgets every acknowledgment, as when a successor restarts with a
// new configuration.
func (a *successorAck) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addr, a.off = "", 0
}
