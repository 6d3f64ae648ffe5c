package replica

import (
	"time"

	"github.com/chainrep/chain/wire"
)

// LinkWatch is what a node knows of its replication links at the epoch
// it runs, for its heartbeats (wire.LinkHealth) and for the link fence:
// a node whose predecessor has sent it nothing for the link timeout stops
// serving, and reports the link cut, until it runs a later configuration.
//
// Instants are readings of the node's monotonic clock (durations since an
// origin the caller fixes, as for Lease); 0 stands for none. The zero
// LinkWatch is at epoch 0, watching nothing yet.
//
// A link is watched from when the node first runs a configuration with
// that neighbour: a configuration that keeps the neighbour (a node joins
// behind the tail, another leaves elsewhere) keeps the link's age, so
// that changes elsewhere in the chain never hold off the removal of a cut
// link (a link still silent is cut again at once).
//
// Why the downstream end fences itself. A cut link between two live
// neighbours stalls every write: nothing reaches the tail. The master
// reconfigures around it by taking the downstream end of the link out of
// the chain (see package master), which then may no longer serve: the
// chain commits writes it never sees, so its reads would be stale. It has
// stopped serving before the master decides, since the master acts only
// on a heartbeat that reports the cut, sent after the node fenced itself;
// the fence is sticky for the epoch, so a link that comes back before
// the node learns of its removal does not make it serve again. (The
// master acts only on a report made at its current epoch, so at a later
// epoch the cut is decided afresh from the link's age.) Whatever
// is cut (both directions, predecessor to successor, or only the
// successor's pulls, which leaves the predecessor to send at most
// StreamWindow responses more), the downstream end ends up hearing
// nothing, so its report alone decides.
type LinkWatch struct {
	epoch      uint64
	pred, succ string        // the neighbours' addresses at epoch ("" for none)
	predSince  time.Duration // when the node began to run with pred
	succSince  time.Duration // when the node began to run with succ
	fromPred   time.Duration // the last response taken from pred
	fromSucc   time.Duration // the last pull or commit notice from succ
	cut        bool          // pred's link carried nothing for the timeout
}

// At returns the watch under the configuration at epoch with neighbours
// pred and succ (addresses, "" for none), as of instant now: at a later
// epoch, a neighbour that changed is watched afresh from now (its link
// gets the whole timeout) and one that stayed keeps its link's age, and
// the cut is lifted, to be decided again (Checked). At the watch's epoch
// or an earlier one (a caller that read an old configuration) it is
// unchanged.
func (w LinkWatch) At(epoch uint64, pred, succ string, now time.Duration) LinkWatch {
	if epoch <= w.epoch {
		return w
	}
	w.epoch, w.cut = epoch, false
	if pred != w.pred || w.predSince == 0 {
		w.pred, w.predSince, w.fromPred = pred, now, 0
	}
	if succ != w.succ || w.succSince == 0 {
		w.succ, w.succSince, w.fromSucc = succ, now, 0
	}
	return w
}

// Epoch returns the epoch the watch is at.
func (w LinkWatch) Epoch() uint64 { return w.epoch }

// FromPred returns the watch noting that the node took a response from
// its predecessor at instant at, sent under epoch (ignored at another
// epoch than the watch's).
func (w LinkWatch) FromPred(epoch uint64, at time.Duration) LinkWatch {
	if epoch == w.epoch {
		w.fromPred = max(w.fromPred, at)
	}
	return w
}

// FromSucc returns the watch noting that the node heard from its
// successor at instant at, under epoch (ignored at another epoch than the
// watch's).
func (w LinkWatch) FromSucc(epoch uint64, at time.Duration) LinkWatch {
	if epoch == w.epoch {
		w.fromSucc = max(w.fromSucc, at)
	}
	return w
}

// Checked returns the watch with the link from the predecessor taken for
// cut if, at instant now, it has carried nothing for timeout (0: never
// cut; a node that follows no master, or a master that names no link
// timeout) and the node serves in a role that has a predecessor (a member
// other than the head: a joining node serves nothing and is not cut). A
// cut stays for the rest of the epoch.
func (w LinkWatch) Checked(now, timeout time.Duration, serving bool) LinkWatch {
	if !w.cut && serving && w.pred != "" && timeout > 0 && now-max(w.predSince, w.fromPred) >= timeout {
		w.cut = true
	}
	return w
}

// Cut reports whether the link from the predecessor is taken for cut at
// the watch's epoch.
func (w LinkWatch) Cut() bool { return w.cut }

// Health returns the report of the links at instant now: the ages of the
// last messages on the links the node has, counted at most from when it
// began to run with that neighbour, and behind, how many entries it holds
// beyond its successor's acknowledgment.
func (w LinkWatch) Health(now time.Duration, behind uint64) wire.LinkHealth {
	h := wire.LinkHealth{Cut: w.cut}
	if w.pred != "" {
		h.FromPred = max(0, now-max(w.predSince, w.fromPred))
	}
	if w.succ != "" {
		h.FromSucc = max(0, now-max(w.succSince, w.fromSucc))
		h.SuccBehind = behind
	}
	return h
}
