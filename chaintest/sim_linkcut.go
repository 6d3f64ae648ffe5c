package chaintest

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
)

// linkCutBound bounds, in failure timeouts, how long writes may stall
// after a replication link between two live neighbours is cut: by then
// the master has taken the link's downstream end out of the chain (the
// link rule of package master) and writes are acknowledged again.
const linkCutBound = 2

// The ways a link-cut step cuts the link between neighbours (Step.Way).
const (
	linkBoth = "both" // every message, both directions
	linkDown = "down" // from the predecessor to the successor only
	linkUp   = "up"   // from the successor to the predecessor only
)

// linkCut cuts the network link between two neighbours of the chain, both
// running and both in touch with the masters and clients, for st.For: in
// both directions, or one way (st.Way). The step's target picks the link:
// from the head, from a middle node, into the tail, or any. A new client
// writes throughout; unless something else may explain a stall (another
// step, one that has not settled, a rule already in force, a chain that is
// not whole, a master down or without a leader), some write must be acknowledged between one and
// linkCutBound failure timeouts after the cut began: the chain stalls
// for about a failure timeout, then runs without the link.
func (r *simRun) linkCut(st Step) string {
	cfg := r.c.Config()
	var links []int // k: the link from cfg.Members[k] to cfg.Members[k+1]
	for k := 0; k+1 < len(cfg.Members); k++ {
		fits := st.Target == "any" || (st.Target == "head" && k == 0) ||
			(st.Target == "middle" && k > 0) || (st.Target == "tail" && k == len(cfg.Members)-2)
		if fits && r.runs(cfg.Members[k]) && r.runs(cfg.Members[k+1]) {
			links = append(links, k)
		}
	}
	if len(links) == 0 {
		return skipped(st, "no link between two running neighbours")
	}
	k := links[r.rng.IntN(len(links))]
	pred, succ := cfg.Members[k], cfg.Members[k+1]
	measured := r.quiet(cfg) && r.settledBefore(st)
	var rules []inmem.RuleID
	if st.Way != linkUp {
		rules = append(rules, r.addRule(st.For, inmem.Rule{From: pred.Addr, To: succ.Addr, Faults: inmem.Faults{Drop: 1}}))
	}
	if st.Way != linkDown {
		rules = append(rules, r.addRule(st.For, inmem.Rule{From: succ.Addr, To: pred.Addr, Faults: inmem.Faults{Drop: 1}}))
	}
	what := fmt.Sprintf("%s: cut %s %s %s (rules %v)", st, pred.ID, map[string]string{linkBoth: "<->", linkDown: "->", linkUp: "<-"}[st.Way], succ.ID, rules)
	sc := r.stepClient(r.histories[0], ClientNormal)
	if sc == nil {
		return what
	}
	cut, steps := r.tl.now(), r.performed.Load()
	to := r.s.FailureTimeout
	var resumed atomic.Int64 // when a write was first acknowledged in (cut + to, cut + bound]; 0: none
	var sessionless atomic.Bool
	r.clientWG.Go(func() {
		defer sc.cl.Close()
		ctx, cancel := r.callContext()
		defer cancel()
		for !r.stopping.Load() && ctx.Err() == nil && r.tl.now() < cut+linkCutBound*to {
			err := r.operate(ctx, sc, WriteOp).Err
			if err == nil {
				if now := r.tl.now(); now > cut+to && now <= cut+linkCutBound*to {
					resumed.CompareAndSwap(0, int64(now-cut))
				}
			}
			if noSession(err) {
				sessionless.Store(true)
			}
			time.Sleep(time.Millisecond)
		}
	})
	r.tl.after(linkCutBound*to, func() string {
		if !measured || r.performed.Load() != steps || st.For < linkCutBound*to || r.tl.now() < cut+linkCutBound*to {
			return ""
		}
		if sessionless.Load() {
			return "link-cut: not measured: the new client found no room for its session (a table full of other clients' sessions stalls it, link or no link)"
		}
		if at := time.Duration(resumed.Load()); at > 0 {
			return fmt.Sprintf("link-cut: writes acknowledged again %v after the cut of %s-%s", at, pred.ID, succ.ID)
		}
		r.violate("link-cut: writes stalled: none acknowledged between %v and %v after the link %s-%s was cut",
			to, linkCutBound*to, pred.ID, succ.ID)
		return fmt.Sprintf("link-cut: no write acknowledged within %v of the cut of %s-%s", linkCutBound*to, pred.ID, succ.ID)
	})
	return what + ", while a new client writes"
}

// settledBefore reports whether every other step that began by st's time
// ended, and two failure timeouts passed, before st began (clock steps
// act on nothing and do not count): what they did is over, their node
// rejoined or the master removed it.
func (r *simRun) settledBefore(st Step) bool {
	for _, o := range r.s.Steps {
		if o == st || o.Kind == FaultClockStep || o.At > st.At {
			continue
		}
		if o.At+o.For+2*r.s.FailureTimeout > st.At {
			return false
		}
	}
	return true
}

// runs reports whether member m's node runs and serves.
func (r *simRun) runs(m chain.Member) bool {
	n := r.c.Node(index(m.ID))
	return n != nil && n.Err() == nil
}

// quiet reports whether nothing but the step about to run can stall the
// chain of cfg: every node runs as a member (none joining or removed), no
// message rule is in force, and every master runs, none cut off, with
// one leading.
func (r *simRun) quiet(cfg chain.Config) bool {
	if cfg.Joining != nil || r.c.Nodes() != len(cfg.Members) || slices.ContainsFunc(cfg.Members, func(m chain.Member) bool { return !r.runs(m) }) {
		return false
	}
	r.mu.Lock()
	ruled := 0
	for _, n := range r.ruled {
		ruled += n
	}
	r.mu.Unlock()
	if ruled > 0 || r.group == nil || r.group.leader() < 0 {
		return false
	}
	for i, m := range r.group.running() {
		if m == nil || r.masterCut(i) {
			return false
		}
	}
	return true
}

// noSession reports whether err refused a write for want of a session
// (the de-duplication table full of live sessions): a stall that the
// step measuring it must not take for its own.
func noSession(err error) bool {
	return errors.Is(err, chain.ErrTooManySessions)
}
