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
// Why the downstream end fences itself. A cut link between two live
// neighbours stalls every write: nothing reaches the tail. The master
// reconfigures around it by taking the downstream end of the link out of
// the chain (see package master), which then may no longer serve: the
// chain commits writes it never sees, so its reads would be stale. It has
// stopped serving before the master decides, since the master acts only
// on a heartbeat that reports the cut, sent after the node fenced itself;
// the fence is sticky for the epoch, so a link that comes back before
// the node learns of its removal does not make it serve again. Whatever
// is cut (both directions, predecessor to successor, or only the
// successor's pulls, which leaves the predecessor to send at most
// StreamWindow responses more), the downstream end ends up hearing
// nothing, so its report alone decides.
type LinkWatch struct {
	epoch uint64
	since time.Duration // when the node started watching at epoch
	pred  time.Duration // the last response taken from the predecessor at epoch
	succ  time.Duration // the last pull or commit notice from the successor at epoch
	cut   bool          // the predecessor's link carried nothing for the timeout at epoch
}

// At returns the watch at epoch as of instant now: unchanged at its own
// epoch, started afresh at a later one (every link of a new configuration
// gets the whole timeout), and unchanged at an earlier one (the caller
// read an old configuration; its report then carries the watch's epoch).
func (w LinkWatch) At(epoch uint64, now time.Duration) LinkWatch {
	if epoch > w.epoch {
		return LinkWatch{epoch: epoch, since: now}
	}
	return w
}

// Epoch returns the epoch the watch is at.
func (w LinkWatch) Epoch() uint64 { return w.epoch }

// FromPred returns the watch noting that the node took a response from
// its predecessor at instant at, under epoch (ignored at another epoch).
func (w LinkWatch) FromPred(epoch uint64, at time.Duration) LinkWatch {
	w = w.At(epoch, at)
	if epoch == w.epoch {
		w.pred = max(w.pred, at)
	}
	return w
}

// FromSucc returns the watch noting that the node heard from its
// successor at instant at, under epoch (ignored at another epoch).
func (w LinkWatch) FromSucc(epoch uint64, at time.Duration) LinkWatch {
	w = w.At(epoch, at)
	if epoch == w.epoch {
		w.succ = max(w.succ, at)
	}
	return w
}

// Checked returns the watch with the link from the predecessor taken for
// cut if, at instant now, it has carried nothing for timeout (0: never
// cut; a node that follows no master, or a master that names no link
// timeout) and the node serves in a role that has a predecessor (a member
// other than the head: a joining node serves nothing and is not cut). A
// cut stays until the epoch changes.
func (w LinkWatch) Checked(now, timeout time.Duration, serving bool) LinkWatch {
	if !w.cut && serving && timeout > 0 && now-max(w.since, w.pred) >= timeout {
		w.cut = true
	}
	return w
}

// Cut reports whether the link from the predecessor was taken for cut at
// the watch's epoch.
func (w LinkWatch) Cut() bool { return w.cut }

// Health returns the report of the links at instant now: the ages of the
// last messages on the links the node has (hasPred, hasSucc), counted
// from the start of the epoch at most, and behind, how many entries it
// holds beyond its successor's acknowledgment.
func (w LinkWatch) Health(now time.Duration, hasPred, hasSucc bool, behind uint64) wire.LinkHealth {
	h := wire.LinkHealth{Cut: w.cut}
	if hasPred {
		h.FromPred = max(0, now-max(w.since, w.pred))
	}
	if hasSucc {
		h.FromSucc = max(0, now-max(w.since, w.succ))
		h.SuccBehind = behind
	}
	return h
}
