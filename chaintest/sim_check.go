package chaintest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

// heal ends every fault: the steps' pending ends run now, then the
// network heals, held messages go, disks work again, every master runs
// again (with its state) and, once one leads, every node runs again. The
// nodes restart one at a time, a fifth of the failure timeout apart, as
// an operator would bring them back: restarted together with the
// original member list, before the master has told them the current
// configuration, they would meet defect 12 (see faultTable).
func (r *simRun) heal() {
	r.disarmTaps()
	r.deferRestarts.Store(true)
	r.tl.drain()
	r.deferRestarts.Store(false)
	r.net.ClearRules()
	r.net.ClearFaults()
	r.net.Heal()
	r.net.ReleaseAll()
	if !r.s.Static {
		for i := range r.group.running() {
			r.tl.do(timedEvent{do: func() string { return r.restartMaster(i, true) }})
			r.group.heal(r.net, i)
		}
		for end := r.tl.now() + r.s.livenessBound(); r.group.leader() < 0 && r.tl.now() < end; {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if r.p != nil {
		r.healServers()
		r.tl.note("faults end")
		return
	}
	for i := range r.c.Nodes() {
		r.disk(i).ClearFaults()
		var what string
		r.tl.do(timedEvent{do: func() string { what = r.restart(i); return what }})
		if what != "" {
			time.Sleep(r.s.FailureTimeout / 5)
		}
	}
	r.tl.note("faults end")
}

// finish waits for the clients, then checks liveness, the logs and the
// history.
func (r *simRun) finish(stopWatch func()) {
	healed := r.tl.now()
	r.clientWG.Wait() // each call ends by r.deadline: it returned, or it is reported
	if r.tl.now() >= r.deadline {
		r.noteState()
	}
	bound := r.s.livenessBound()
	within := func(from time.Duration) (context.Context, context.CancelFunc) {
		return context.WithDeadline(context.Background(), r.tl.start.Add(from+bound))
	}
	ctx, cancel := within(healed) // if it has passed, converged is checked once
	err := r.waitConverged(ctx)
	cancel()
	if err != nil {
		r.violate("liveness: the cluster did not converge within %v after the faults stopped: %v", bound, err)
		r.noteState()
	} else {
		ctx, cancel := within(r.tl.now())
		if r.probe(ctx) {
			r.tl.note("every client's probes answered")
			// Let what the faults left in motion settle (an election of
			// masters, nodes fenced until the new leader answers).
			time.Sleep(settleTime * r.s.FailureTimeout)
			r.quietCalls(ctx)
		}
		cancel()
	}
	for _, h := range r.histories {
		final := r.stepClient(h, ClientNormal)
		if final == nil {
			continue
		}
		ctx, cancel := within(r.tl.now())
		if err := r.s.Workload.Final(ctx, Operation{Client: final.cl, Recorder: h.rec, ID: final.id, Rand: final.rng}); err != nil {
			r.violate("liveness: the final reads of %s failed within %v: %v", h.name(), bound, err)
		}
		cancel()
	}
	stopWatch()
	if r.p != nil {
		r.checkPartitionedLogs()
		return
	}
	for _, v := range r.c.Violations() { // those seen throughout, and a full check now
		r.violate("%s", v)
	}
	r.checkLogs()
}

// waitConverged waits until every node runs, is a member of the current
// configuration (no node joining), and holds, has committed and has
// applied the same log as every other.
func (r *simRun) waitConverged(ctx context.Context) error {
	if r.p != nil {
		if err := r.p.WaitConverged(ctx); err != nil {
			return err
		}
		r.tl.note("converged")
		return nil
	}
	for {
		err := r.converged()
		if err == nil {
			r.tl.note("converged")
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (r *simRun) converged() error {
	cfg := r.c.Config()
	if cfg.Joining != nil {
		return fmt.Errorf("%s is joining at epoch %d", cfg.Joining.ID, cfg.Epoch)
	}
	var last uint64
	for i := range r.c.Nodes() {
		n := r.c.Node(i)
		if n == nil {
			return fmt.Errorf("n%d is not running", i+1)
		}
		id := n.ID()
		if !slices.ContainsFunc(cfg.Members, func(m chain.Member) bool { return m.ID == id }) {
			return fmt.Errorf("%s is not a member at epoch %d", id, cfg.Epoch)
		}
		s := n.Stats()
		switch {
		case s.Err != nil:
			return fmt.Errorf("%s stopped: %v", id, s.Err)
		case s.Epoch != cfg.Epoch:
			return fmt.Errorf("%s runs epoch %d, the master %d", id, s.Epoch, cfg.Epoch)
		case i == 0:
			last = s.LastOffset
		}
		if s.LastOffset != last || s.CommitPoint != last || s.Applied != last {
			return fmt.Errorf("%s holds %d, committed %d, applied %d; n1 holds %d", id, s.LastOffset, s.CommitPoint, s.Applied, last)
		}
	}
	return nil
}

// settleTime is how many failure timeouts the quiet calls wait after the
// probes.
const settleTime = 3

// noteState logs every node's state and the master's configuration.
func (r *simRun) noteState() {
	if r.p != nil {
		r.notePartitionedState()
		return
	}
	cfg := r.c.Config()
	r.tl.note("configuration: epoch %d, members %v, joining %v", cfg.Epoch, cfg.Members, cfg.Joining)
	for i := range r.c.Nodes() {
		n := r.c.Node(i)
		if n == nil {
			r.tl.note("n%d: not running", i+1)
			continue
		}
		s := n.Stats()
		r.tl.note("n%d: %s at epoch %d, last %d, commit %d, applied %d, successor acked %d, err %v",
			i+1, s.Role, s.Epoch, s.LastOffset, s.CommitPoint, s.Applied, s.SuccessorAcked, s.Err)
	}
	for _, sc := range r.clients {
		cfg := sc.cl.Config()
		r.tl.note("client %d (%s): epoch %d, members %v", sc.id, sc.kind, cfg.Epoch, cfg.Members)
	}
}

// probe has every workload client write and (unless it only writes) read
// once; each call must succeed. It reports whether every one did.
func (r *simRun) probe(ctx context.Context) bool {
	ok := true
	for _, sc := range r.clients {
		for _, kind := range sc.probeKinds() {
			// A write refused for want of room in a full session table
			// (its client came after a burst filled it) is an answer.
			if out := r.operate(ctx, sc, kind); out.Err != nil && !definitelyRefused(out.Err) {
				r.violate("liveness: client %d (%s) failed a probe %s after the faults stopped: %v", sc.id, sc.kind, kindName(kind), out.Err)
				ok = false
			}
		}
	}
	return ok
}

// quietCalls has every client call again, once the cluster serves: with no
// fault left, each call must be answered within quietLatency. A first,
// unmeasured call of each kind lets the client learn of a
// reconfiguration made since its probes (a client that sends under an
// old epoch waits a retry interval before it sends again, which is not
// what this check is about).
func (r *simRun) quietCalls(ctx context.Context) {
	for _, sc := range r.clients {
		for _, kind := range sc.probeKinds() {
			r.operate(ctx, sc, kind)
			began := r.tl.now()
			out := r.operate(ctx, sc, kind)
			took := r.tl.now() - began
			switch {
			case out.Err != nil && !definitelyRefused(out.Err):
				r.violate("liveness: client %d (%s) failed a %s with no fault left: %v", sc.id, sc.kind, kindName(kind), out.Err)
			case took > quietLatency:
				r.violate("latency: a %s of client %d (%s) took %v with no fault left (bound %v)", kindName(kind), sc.id, sc.kind, took, quietLatency)
			}
		}
	}
}

func (sc *simClient) probeKinds() []OpKind {
	if sc.kind == ClientWriteOnly {
		return []OpKind{WriteOp}
	}
	return []OpKind{WriteOp, ReadOp}
}

func kindName(k OpKind) string {
	if k == ReadOp {
		return "read"
	}
	return "write"
}

// checkLogs checks the logs of the Cluster's nodes (see checkChainLogs).
func (r *simRun) checkLogs() {
	logs := make(map[string][]chain.Entry)
	for i := range r.c.Nodes() {
		st := r.c.Storage(i)
		if st == nil {
			continue
		}
		ents, err := st.Entries(st.FirstOffset(), st.LastOffset()+1, 1<<62)
		if err != nil && !errors.Is(err, chain.ErrOutOfRange) {
			r.violate("read n%d's log: %v", i+1, err)
			continue
		}
		logs[fmt.Sprintf("n%d", i+1)] = ents
	}
	r.checkChainLogs(r.histories[0], logs)
}

// checkChainLogs checks that every member of h's chain holds the same log
// (logs, by member), that it holds each acknowledged write at its offset,
// and that each write answered chain.ErrResultExpired ("applied before")
// is in it.
func (r *simRun) checkChainLogs(h *chainHistory, logs map[string][]chain.Entry) {
	names := slices.Sorted(maps.Keys(logs))
	if len(names) == 0 {
		return
	}
	ref := logs[names[0]]
	h.mu.Lock()
	h.final = ref
	h.mu.Unlock()
	for _, name := range names[1:] {
		if k := firstDifference(ref, logs[name]); k >= 0 {
			r.violate("logs of %s differ: %s and %s at position %d (%s holds %d entries, %s %d)",
				h.name(), names[0], name, k, names[0], len(ref), name, len(logs[name]))
		}
	}
	if len(ref) == 0 {
		return
	}
	first := ref[0].Offset
	held := make(map[string]bool, len(ref))
	for _, e := range ref {
		held[e.Command+"\x00"+string(e.Data)] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.writes {
		if w.Offset == 0 {
			continue
		}
		if w.Offset < first || w.Offset >= first+uint64(len(ref)) {
			r.violate("lost write in %s: %q acknowledged at offset %d, beyond the log's %d entries", h.name(), w.Data, w.Offset, len(ref))
			continue
		}
		if e := ref[w.Offset-first]; e.Command != w.Command || string(e.Data) != string(w.Data) {
			r.violate("lost write in %s: %q acknowledged at offset %d, where the log holds %q", h.name(), w.Data, w.Offset, e.Data)
		}
	}
	for _, w := range h.expired {
		if !held[w.Command+"\x00"+string(w.Data)] {
			r.violate("false ErrResultExpired in %s: %q was refused as applied before, and the log does not hold it", h.name(), w.Data)
		}
	}
}

// firstDifference returns the first position where a and b differ, or -1.
func firstDifference(a, b []chain.Entry) int {
	for k := range max(len(a), len(b)) {
		if k >= len(a) || k >= len(b) || !sameEntry(a[k], b[k]) {
			return k
		}
	}
	return -1
}

// checkHistory checks every chain's recorded history with the workload's
// model. The check has no bound in real time: it runs to its end. A bound
// in real time is one a busy machine misses (the slowest histories seen, a
// few hundred kv-store operations with many writes of unknown outcome,
// take 16 s alone and over 20 s under the race detector; at a load of 14
// on two cores one ran past two minutes, seed 2185046444610205761, whose
// check takes 0.4 s on a quiet machine), and a check cut short says
// nothing of the history. What bounds the check is the history: each
// schedule's workload records a bounded number of operations, and the
// test binary's -timeout bounds the whole.
func (r *simRun) checkHistory() {
	model := r.s.Workload.Model()
	for _, h := range r.histories {
		h.mu.Lock()
		final := h.final
		h.mu.Unlock()
		ops := h.rec.Operations()
		if final != nil {
			ops = settle(r.s.Workload, ops, final)
			if _, isLog := r.s.Workload.(LogWorkload); isLog {
				if stale := staleLogReads(ops, final, 5); len(stale) > 0 {
					r.violate("history of %s, %d operations, is not linearizable: %s", h.name(), len(ops), strings.Join(stale, "; "))
					continue
				}
			}
		}
		if porcupine.CheckOperations(model, ops) {
			continue
		}
		_, viz, err := Linearizable(model, ops, 0)
		if err != nil {
			r.violate("history of %s, %d operations, is not linearizable (%v)", h.name(), len(ops), err)
			continue
		}
		r.violate("history of %s, %d operations, is not linearizable; visualization: %s", h.name(), len(ops), viz)
	}
}

// forgetIncarnation ends what the invariants track of node i's running
// incarnation after a crash: the next one starts from the commit point it
// saved, which may lie below the one the crashed incarnation reached, so
// the commit point is checked never to move backward within an
// incarnation; committed entries are still compared across incarnations.
func (v *invariants) forgetIncarnation(node int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.commits, node)
	delete(v.checked, node)
}
