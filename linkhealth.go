package chain

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// LinkHealth is what a node reports of its replication links
// (Stats.Links, NodeStatus.Links, and its heartbeats to the master).
type LinkHealth = wire.LinkHealth

// linkWatch is the node's watch on its replication links (the rules are
// replica.LinkWatch's): when it last took a response from its
// predecessor and last heard from its successor, since it began to run
// with each.
// Its heartbeats report it (wire.Heartbeat.Links), and a node whose
// predecessor has sent it nothing for the master's link timeout stops
// serving until it runs a later configuration: one in which the master
// has taken it out of the chain (see package master, the link rule), or
// one that keeps a link that is still silent cut.
type linkWatch struct {
	mu sync.Mutex
	w  replica.LinkWatch // guarded by mu
	// timeout is the master's link timeout (wire.ConfigUpdate.LinkTimeout)
	// in nanoseconds; 0 until a master names one, and for a static chain:
	// no link is then taken for cut.
	timeout atomic.Int64
}

// update changes the watch under its lock and returns the result.
func (l *linkWatch) update(f func(replica.LinkWatch) replica.LinkWatch) replica.LinkWatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w = f(l.w)
	return l.w
}

// linkTimeout returns the master's link timeout, 0 when none applies.
func (n *Node) linkTimeout() time.Duration {
	if len(n.opts.masters) == 0 {
		return 0
	}
	return time.Duration(n.links.timeout.Load())
}

// pollInterval is how long the pull server holds a pull with nothing to
// send before it answers empty (the link's keep-alive), and the base of
// the puller's timeout: the node's poll interval, but under a master that
// names a link timeout at most an eighth of it, so that a lost message or
// two on a link that works never keeps it silent for the timeout.
func (n *Node) pollInterval() time.Duration {
	d := n.opts.pollInterval
	if t := n.linkTimeout(); t > 0 {
		d = min(d, max(t/8, time.Millisecond))
	}
	return d
}

// linkAdopted moves the watch to the configuration cfg the node adopted.
func (n *Node) linkAdopted(cfg *nodeConfig) {
	now := n.master.now()
	n.links.update(func(w replica.LinkWatch) replica.LinkWatch { return w.At(cfg.Epoch, cfg.pred, cfg.succ, now) })
}

// linkFromPred notes a response the puller took from the predecessor
// under epoch.
func (n *Node) linkFromPred(epoch uint64) {
	now := n.master.now()
	n.links.update(func(w replica.LinkWatch) replica.LinkWatch { return w.FromPred(epoch, now) })
}

// linkFromSucc notes a pull or commit notice from the successor under
// epoch.
func (n *Node) linkFromSucc(epoch uint64) {
	now := n.master.now()
	n.links.update(func(w replica.LinkWatch) replica.LinkWatch { return w.FromSucc(epoch, now) })
}

// linkChecked returns the watch at the node's configuration cfg, as of
// now, with the cut decided (replica.LinkWatch.Checked): only a placed
// member with a predecessor serves, and so is ever cut.
func (n *Node) linkChecked(cfg *nodeConfig) (replica.LinkWatch, time.Duration) {
	now := n.master.now()
	serving := cfg.pred != "" && cfg.role.IsMember() && n.placed.Load()
	timeout := n.linkTimeout()
	w := n.links.update(func(w replica.LinkWatch) replica.LinkWatch {
		return w.At(cfg.Epoch, cfg.pred, cfg.succ, now).Checked(now, timeout, serving)
	})
	return w, now
}

// linkHealth returns the report of the node's links under cfg.
func (n *Node) linkHealth(cfg *nodeConfig) wire.LinkHealth {
	w, now := n.linkChecked(cfg)
	var behind uint64
	if cfg.succ != "" && n.log != nil {
		_, last, _, _ := n.log.state()
		behind = last - min(last, n.successorAcked.of(cfg.succ))
	}
	return w.Health(now, behind)
}

// linkCut reports whether the node has stopped serving under cfg because
// its predecessor's link carried nothing for the link timeout, and the
// cause its refusals give.
func (n *Node) linkCut(cfg *nodeConfig) (bool, string) {
	if cfg.pred == "" {
		return false, ""
	}
	w, _ := n.linkChecked(cfg)
	if !w.Cut() || w.Epoch() != cfg.Epoch {
		return false, ""
	}
	return true, fmt.Sprintf("nothing from the predecessor %s for the link timeout %v: "+
		"waiting for the master to reconfigure the chain (epoch %d)", cfg.pred, n.linkTimeout(), cfg.Epoch)
}
