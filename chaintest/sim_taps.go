package chaintest

import (
	"fmt"
	"slices"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// tapKind is what an armed tap does.
type tapKind int

const (
	tapKillNewTail tapKind = iota + 1
	tapWipeNewTail
	tapRestartPromoted
	tapMasterMidChange
)

// tapState is what the tap has seen and what it is armed to do. Guarded
// by simRun.mu.
type tapState struct {
	epoch   uint64 // the highest epoch a master was seen sending
	tail    string // that configuration's tail
	joining string // and its joining node
	armed   map[tapKind]Step
}

func (r *simRun) armTap(k tapKind, st Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tap.armed == nil {
		r.tap.armed = make(map[tapKind]Step)
	}
	r.tap.armed[k] = st
}

// disarmTaps disarms every tap.
func (r *simRun) disarmTaps() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.tap.armed)
}

// onSend is the network's tap: at the first sight of a configuration with
// a new epoch from a master, it fires what is armed, through the timeline
// (at once), so that the cluster changes on one goroutine only.
func (r *simRun) onSend(from, to string, msg chain.Message) {
	u, ok := msg.(*wire.ConfigUpdate)
	if !ok || len(u.Config.Members) == 0 || !slices.Contains(r.masterAddrs(), from) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if u.Config.Epoch <= r.tap.epoch {
		return
	}
	prevTail, prevJoining := r.tap.tail, r.tap.joining
	r.tap.epoch, r.tap.tail, r.tap.joining = u.Config.Epoch, u.Config.Tail().ID, ""
	if u.Config.Joining != nil {
		r.tap.joining = u.Config.Joining.ID
	}
	cfg := u.Config.Clone()
	kill := func(k tapKind) (Step, bool) {
		st, ok := r.tap.armed[k]
		switch {
		case !ok:
		case (k == tapKillNewTail || k == tapWipeNewTail) && cfg.Tail().ID != prevTail,
			k == tapRestartPromoted && cfg.Tail().ID == prevJoining:
			delete(r.tap.armed, k)
			return st, true
		}
		return Step{}, false
	}
	for _, k := range []tapKind{tapKillNewTail, tapWipeNewTail, tapRestartPromoted} {
		st, ok := kill(k)
		if !ok {
			continue
		}
		i := index(cfg.Tail().ID)
		lone := len(cfg.Members) == 1 && !r.enabled[FaultRestartLoneTail]
		// The crash is its step's action, however long after the step it
		// comes (a kill-new-tail-early step's tap stays armed when its
		// tail restarts before the master names another): it counts as a
		// step performed, so that a step that measures how soon the chain
		// recovers (link-cut, failover) does not take the stall it causes
		// for its own (seed 600224 of the simulation: the link rule named
		// a new tail, the tap crashed it, and writes waited a failure
		// timeout more).
		if !lone {
			r.performed.Add(1)
		}
		r.tl.add(0, func() string {
			if lone {
				return fmt.Sprintf("epoch %d names n%d tail, alone: not crashed (it would restart as a lone tail)", cfg.Epoch, i+1)
			}
			var wipeIn *chain.Config
			if k == tapWipeNewTail {
				wipeIn = &cfg
			}
			crashed, wiped := r.crashWiping(i, wipeIn)
			if !crashed {
				return ""
			}
			what := fmt.Sprintf("epoch %d names n%d tail: crash it", cfg.Epoch, i+1)
			switch {
			case wiped:
				what += ", wipe its disk"
			case k == tapWipeNewTail:
				what += ", not wiped (no other running member that the masters hear from holds every committed entry: the wipe would lose them)"
			}
			r.tl.after(st.For, func() string {
				r.readers(2, 100*time.Millisecond)
				return r.restart(i) + ", with readers"
			})
			return what
		})
	}
	if st, ok := r.tap.armed[tapMasterMidChange]; ok {
		delete(r.tap.armed, tapMasterMidChange)
		r.tl.add(0, func() string {
			kind := FaultMasterKill
			if st.Cut {
				kind = FaultMasterPartition
			}
			return fmt.Sprintf("epoch %d announced: %s", cfg.Epoch, r.masterFault(st, kind))
		})
	}
}
