package chaintest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// perform carries out one step and schedules its end; it returns what it
// did for the log.
func (r *simRun) perform(st Step) string {
	r.performed.Add(1)
	if r.p != nil {
		return r.performPartitioned(st)
	}
	switch st.Kind {
	case FaultCrashQuick, FaultCrashLate:
		return r.crashFor(st, r.victim(st.Target, false), st.For, false)
	case FaultRestartLoneTail:
		return r.crashFor(st, r.loneTail(), st.For, false)
	case FaultWipe:
		return r.crashFor(st, r.victim(st.Target, false), st.For, true)
	case FaultWipeTail:
		i := r.victim("tail", false)
		if i < 0 {
			return skipped(st, "no tail to crash")
		}
		r.armTap(tapWipeNewTail, st)
		return r.crashFor(st, i, 2*r.s.FailureTimeout, false) + "; the next tail named is crashed as it is named, wiped and restarted"
	case FaultCrashAll:
		return r.crashAll(st)
	case FaultKillNewTail, FaultKillNewTailEarly:
		i := r.victim("tail", false)
		if i < 0 {
			return skipped(st, "no tail to crash")
		}
		r.armTap(tapKillNewTail, st)
		return r.crashFor(st, i, st.For, false) + "; the next tail named is crashed as it is named"
	case FaultRestartNewTail:
		i := r.victim(st.Target, false)
		if i < 0 {
			return skipped(st, "no node to crash")
		}
		r.armTap(tapRestartPromoted, st)
		return r.crashFor(st, i, 2*r.s.FailureTimeout, false) + "; crashed again as it is promoted from joining to tail"
	case FaultPauseShort, FaultPauseLong:
		i := r.victim(st.Target, true)
		if i < 0 {
			return skipped(st, "no node to pause")
		}
		addr := r.c.Addr(i)
		r.net.Hold(addr)
		r.setCutOff(i, true)
		if st.Kind == FaultPauseLong {
			r.pinnedReader(i, st.For+2*r.s.FailureTimeout)
		}
		r.tl.after(st.For, func() string { r.net.Release(addr); r.setCutOff(i, false); return "release n" + fmt.Sprint(i+1) })
		return fmt.Sprintf("%s: pause n%d", st, i+1)
	case FaultIsolate:
		i := r.victim(st.Target, true)
		if i < 0 {
			return skipped(st, "no node to isolate")
		}
		addr := r.c.Addr(i)
		r.net.Isolate(addr)
		r.setCutOff(i, true)
		r.tl.after(st.For, func() string { r.net.Reconnect(addr); r.setCutOff(i, false); return "reconnect n" + fmt.Sprint(i+1) })
		return fmt.Sprintf("%s: isolate n%d", st, i+1)
	case FaultCut:
		return r.cut(st)
	case FaultLinkCut:
		return r.linkCut(st)
	case FaultMessages:
		return r.messages(st)
	case FaultSlowMaster:
		return r.slowMaster(st)
	case FaultMasterKill, FaultMasterPartition, FaultMasterWipe:
		return r.masterFault(st, st.Kind)
	case FaultMasterMidChange:
		r.armTap(tapMasterMidChange, st)
		return r.crashFor(st, r.victim(st.Target, false), 2*r.s.FailureTimeout, false) +
			"; the leading master goes as it announces the next configuration"
	case FaultSyncFail, FaultSyncFailHead, FaultDiskFull:
		return r.diskFault(st)
	case FaultAddNode:
		return r.addNode(st)
	case FaultSessionBurst:
		r.burst(20)
		return fmt.Sprintf("%s: 20 new sessions", st)
	case FaultSessionEviction:
		id := r.addRule(st.For, inmem.Rule{Kinds: []wire.MessageKind{wire.KindClientResponse, wire.KindResponseBatch},
			Faults: inmem.Faults{Drop: 0.5}})
		r.burst(3 * r.s.MaxSessions)
		return fmt.Sprintf("%s: %d new sessions while half the replies are lost (rule %d)", st, 3*r.s.MaxSessions, id)
	case FaultFlood:
		return r.flood(st)
	case FaultClockStep:
		return r.clockStep(st)
	case FaultFailover:
		return r.failover(st)
	}
	return skipped(st, "not applicable")
}

// failoverBound bounds, in failure timeouts, the time from a crash to the
// first acknowledgment of a write called after it (defect 8's target).
const failoverBound = 1.5

// failover crashes a node while a new client writes, and checks how soon
// a write called after the crash is acknowledged.
func (r *simRun) failover(st Step) string {
	i := r.victim(st.Target, false)
	sc := r.stepClient(r.histories[0], ClientNormal)
	if i < 0 || sc == nil {
		return skipped(st, "no node to crash")
	}
	whole := r.c.Nodes() == len(r.c.Config().Members) && !slices.ContainsFunc(r.c.Config().Members, func(m chain.Member) bool {
		return r.c.Node(index(m.ID)) == nil
	})
	what := r.crashFor(st, i, st.For, false)
	crashed, steps := r.tl.now(), r.performed.Load()
	bound := time.Duration(failoverBound * float64(r.s.FailureTimeout))
	var acked atomic.Bool
	r.clientWG.Go(func() {
		defer sc.cl.Close()
		ctx, cancel := r.callContext()
		defer cancel()
		for !r.stopping.Load() && ctx.Err() == nil {
			if r.operate(ctx, sc, WriteOp).Err == nil {
				acked.Store(true)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	// Measured only from a whole chain, with no other step until the
	// bound (the heal runs what is left early: not measured either).
	r.tl.after(bound, func() string {
		if !whole || acked.Load() || r.performed.Load() != steps || r.tl.now() < crashed+bound {
			return ""
		}
		r.violate("failover: no write called after n%d crashed was acknowledged within %v of the crash", i+1, bound)
		return fmt.Sprintf("failover: no write acknowledged %v after n%d crashed", bound, i+1)
	})
	return what + ", while a new client writes"
}

// clockStep steps a node's wall clock: a step with nothing to act on,
// since the node reads only its monotonic clock (see faultTable).
func (r *simRun) clockStep(st Step) string {
	i := r.victim("any", true)
	if i < 0 {
		return skipped(st, "no node running")
	}
	dir := "forward"
	if st.Target == "head" || st.Target == "middle" {
		dir = "back"
	}
	return fmt.Sprintf("%s: step n%d's wall clock %s by %v: nothing reads it", st, i+1, dir, st.For)
}

func skipped(st Step, why string) string { return fmt.Sprintf("%s: skipped (%s)", st, why) }

// victim returns the index of a running node with role (any member for
// "any"; a middle node may be missing), or -1. Unless anyNode, a node that
// would restart as a lone tail is left out, unless that fault is enabled.
func (r *simRun) victim(role string, anyNode bool) int {
	cfg := r.c.Config()
	var cands []int
	for k, m := range cfg.Members {
		i := index(m.ID)
		if r.c.Node(i) == nil {
			continue
		}
		fits := role == "any" || (role == "head" && k == 0) || (role == "tail" && k == len(cfg.Members)-1) ||
			(role == "middle" && k > 0 && k < len(cfg.Members)-1)
		if fits && (anyNode || r.enabled[FaultRestartLoneTail] || !r.isLoneTail(cfg, i)) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return -1
	}
	return cands[r.rng.IntN(len(cands))]
}

// isLoneTail reports whether node i would restart as a tail with no
// predecessor to catch up with: the tail of a static chain, the sole
// member of a chain, or the last member of a chain running (the master
// never removes the last member, so it restarts as the sole one).
func (r *simRun) isLoneTail(cfg chain.Config, i int) bool {
	if len(cfg.Members) == 0 {
		return false
	}
	if r.s.Static || len(cfg.Members) == 1 {
		return index(cfg.Tail().ID) == i
	}
	return !slices.ContainsFunc(cfg.Members, func(m chain.Member) bool {
		j := index(m.ID)
		n := r.c.Node(j)
		return j != i && n != nil && n.Err() == nil
	})
}

// loneTail returns the running lone tail, or -1.
func (r *simRun) loneTail() int {
	cfg := r.c.Config()
	if len(cfg.Members) == 0 {
		return -1
	}
	i := index(cfg.Tail().ID)
	if !r.isLoneTail(cfg, i) || r.c.Node(i) == nil {
		return -1
	}
	return i
}

// crash kills node i as a power loss would: its endpoint dies at once,
// its disk keeps what was synced, and the node is closed. It reports
// whether the node was running.
func (r *simRun) crash(i int) bool {
	crashed, _ := r.crashWiping(i, nil)
	return crashed
}

// crashWiping crashes node i, as crash does, and wipes its disk if cfg is
// not nil and the chain's log survives the wipe (survivesWipe), decided
// once the node is cut off the network and before it stops: what it had
// committed then is all it ever committed that anyone can have seen. It
// reports whether it crashed the node and whether it wiped its disk.
func (r *simRun) crashWiping(i int, cfg *chain.Config) (crashed, wiped bool) {
	if r.c.Node(i) == nil {
		return false, false
	}
	r.checking <- struct{}{}
	defer func() { <-r.checking }()
	r.net.Crash(r.c.Addr(i))
	wipe := cfg != nil && r.survivesWipe(*cfg, i)
	r.disk(i).Crash()
	r.c.Kill(i)
	if wipe {
		r.disk(i).Wipe()
	}
	return true, wipe
}

// restart starts node i again on its disk, with the options it started
// with (the original member list among them), stopping it first if it
// failed; it changes nothing if the node runs.
func (r *simRun) restart(i int) string {
	if r.deferRestarts.Load() {
		return fmt.Sprintf("n%d restarts as the faults end", i+1)
	}
	r.checking <- struct{}{}
	defer func() { <-r.checking }()
	if n := r.c.Node(i); n != nil {
		if n.Err() == nil {
			return ""
		}
		r.c.Kill(i)
	}
	r.c.inv.forgetIncarnation(i) // the last incarnation saved no commit point as it stopped
	r.c.Restart(i)
	return fmt.Sprintf("restart n%d", i+1)
}

// survivesWipe reports whether the log survives wiping node i's disk,
// with node i cut off the network (it acknowledges nothing more), by the
// rule of wipeKeepsLog over the running nodes. A member counts as a copy
// only while nothing stands between it and the masters: isolated, paused
// or under a message rule, it may be taken for failed and removed, and
// the wiped node be left the chain's sole member (seed 20023: the
// masters lost the heartbeats of the middle node, which held the log,
// removed it, and the wiped head, the one member left, restarted empty).
func (r *simRun) survivesWipe(cfg chain.Config, i int) bool {
	var acked uint64
	for _, h := range r.histories {
		acked = max(acked, h.maxAcked.Load())
	}
	var commits, others []uint64
	for j := range r.c.Nodes() {
		if n := r.c.Node(j); n != nil && n.Err() == nil {
			commits = append(commits, n.Stats().CommitPoint)
		}
	}
	for _, m := range cfg.Members {
		if j := index(m.ID); j != i {
			if n := r.c.Node(j); n != nil && n.Err() == nil && !r.cutOff(j) && !r.ruledOn(r.c.Addr(j)) {
				others = append(others, n.Stats().LastOffset)
			}
		}
	}
	return wipeKeepsLog(acked, commits, others)
}

// wipeKeepsLog is the rule by which a schedule wipes a node's disk: only
// if another running member (the last offsets of their logs: others)
// holds every entry committed so far, through the highest commit point of
// any running node, the wiped one included (commits), and every write the
// clients saw acknowledged (acked), so that every entry anyone may have
// seen committed or acknowledged is held elsewhere. Wiping the last
// running copy of a log is a loss no chain can avoid (the members that
// hold the rest are down, removed or still catching up: a new tail in its
// handoff lacks what the old tail committed last), so the schedule never
// does it. The commit points count, not only the acknowledgments the
// clients report: a workload need not report the offsets of its writes,
// and an acknowledgment may be on its way to a client (seed
// 2892162522194259027 of the root package's TestKVUnderSimulatedFaults,
// whose workload reports no offsets, wiped a head that alone held an
// entry it had committed as the sole member, while its successor,
// promoted to tail, still caught up).
func wipeKeepsLog(acked uint64, commits, others []uint64) bool {
	need := acked
	for _, c := range commits {
		need = max(need, c)
	}
	return slices.ContainsFunc(others, func(last uint64) bool { return last >= need })
}

// crashFor crashes node i (wiping its disk if wipe) and restarts it after d.
func (r *simRun) crashFor(st Step, i int, d time.Duration, wipe bool) string {
	var cfg *chain.Config
	if wipe {
		c := r.c.Config()
		cfg = &c
	}
	crashed, wiped := false, false
	if i >= 0 {
		crashed, wiped = r.crashWiping(i, cfg)
	}
	if !crashed {
		return skipped(st, "no node to crash")
	}
	what := fmt.Sprintf("%s: crash n%d", st, i+1)
	switch {
	case wiped:
		what += ", wipe its disk"
	case wipe:
		what += ", not wiped (no other running member that the masters hear from holds every committed entry: the wipe would lose them)"
	}
	readers := r.rng.IntN(2) == 0 || st.Kind == FaultWipeTail
	r.tl.after(d, func() string {
		if !readers {
			return r.restart(i)
		}
		r.readers(2, 100*time.Millisecond)
		return r.restart(i) + ", with readers"
	})
	return what
}

// crashAll crashes every running node at once and restarts them later.
func (r *simRun) crashAll(st Step) string {
	cfg := r.c.Config()
	if len(cfg.Members) == 1 && !r.enabled[FaultRestartLoneTail] {
		return skipped(st, "a chain of one restarts as a lone tail")
	}
	r.checking <- struct{}{}
	defer func() { <-r.checking }()
	var down []int
	for i := range r.c.Nodes() { // the endpoints first: nothing leaves after the moment of the crash
		if r.c.Node(i) != nil {
			r.net.Crash(r.c.Addr(i))
			down = append(down, i)
		}
	}
	for _, i := range down {
		r.disk(i).Crash()
	}
	for _, i := range down {
		r.c.Kill(i)
	}
	for _, i := range down {
		r.tl.after(st.For, func() string { return r.restart(i) })
	}
	return fmt.Sprintf("%s: crash %d nodes", st, len(down))
}

// diskFault fails a node's disk and restarts the node later.
func (r *simRun) diskFault(st Step) string {
	i := r.victim(st.Target, false)
	if i < 0 {
		return skipped(st, "no node")
	}
	d := r.disk(i)
	if st.Kind == FaultDiskFull {
		d.Fill(true)
	} else {
		d.FailSync()
	}
	r.tl.after(st.For, func() string {
		d.ClearFaults()
		return r.restart(i)
	})
	return fmt.Sprintf("%s: n%d", st, i+1)
}

// addNode adds a node, at most two beyond the initial ones, while every
// master is up.
func (r *simRun) addNode(st Step) string {
	if r.c.Nodes() >= r.s.Nodes+2 {
		return skipped(st, "two nodes added already")
	}
	for i, m := range r.group.running() {
		if m == nil || r.masterCut(i) {
			return skipped(st, "a master is down")
		}
	}
	if r.group.leader() < 0 {
		return skipped(st, "no leading master")
	}
	return fmt.Sprintf("%s: n%d", st, r.c.AddNode()+1)
}

// burst has n new clients make one write each, at once.
func (r *simRun) burst(n int) {
	for range n {
		sc := r.stepClient(r.histories[0], ClientNormal)
		if sc == nil {
			return
		}
		r.clientWG.Go(func() {
			ctx, cancel := r.callContext()
			defer cancel()
			r.operate(ctx, sc, WriteOp)
			_ = sc.cl.Close()
		})
	}
}

// stepClient returns a new client of h's chain, with an id of its own.
// It returns nil, with a violation, if the chain's client cannot be had.
func (r *simRun) stepClient(h *chainHistory, kind ClientKind, opts ...chain.ClientOption) *simClient {
	cl := r.clientOf(h, kind, opts...)
	if cl == nil {
		return nil
	}
	id := int(r.nextID.Add(1) - 1)
	return &simClient{id: id, kind: kind, h: h, cl: cl, rng: r.rngFor(id)}
}

// readers has n new clients read every millisecond for d, where a stale
// read by a tail that serves too early shows.
func (r *simRun) readers(n int, d time.Duration) {
	end := r.tl.now() + d
	for range n {
		sc := r.stepClient(r.histories[0], ClientNormal)
		if sc == nil {
			return
		}
		r.clientWG.Go(func() {
			defer sc.cl.Close()
			for r.tl.now() < end && !r.stopping.Load() {
				ctx, cancel := r.callContext()
				r.operate(ctx, sc, ReadOp)
				cancel()
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// pinnedReader reads, for d, at node i as a client that was given the
// configuration node i runs under and follows no master: it keeps asking
// node i, which must refuse once it is no longer the tail.
func (r *simRun) pinnedReader(i int, d time.Duration) {
	n := r.c.Node(i)
	if n == nil {
		return
	}
	cl, err := chain.NewClient(chain.WithTransport(r.net), chain.WithConfig(n.Config()))
	if err != nil {
		return // the node has no configuration yet
	}
	id := int(r.nextID.Add(1) - 1)
	sc := &simClient{id: id, kind: ClientNormal, h: r.histories[0], cl: cl, rng: r.rngFor(id)}
	end := r.tl.now() + d
	r.clientWG.Go(func() {
		defer cl.Close()
		for r.tl.now() < end && !r.stopping.Load() {
			ctx, cancel := r.callContext()
			r.operate(ctx, sc, ReadOp)
			cancel()
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// rngFor returns the random source of client id.
func (r *simRun) rngFor(id int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(r.s.Seed), uint64(id)))
}
