package chaintest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

// heal ends every fault: the steps' pending ends run now, then the
// network heals, held messages go, disks work again, and every master and
// node runs again (masters with their state).
func (r *simRun) heal() {
	r.disarmTaps()
	r.tl.drain()
	r.net.ClearRules()
	r.net.ClearFaults()
	r.net.Heal()
	r.net.ReleaseAll()
	if !r.s.Static {
		for i := range r.c.group.running() {
			r.tl.do(timedEvent{do: func() string { return r.restartMaster(i, true) }})
			r.c.HealMaster(i)
		}
	}
	for i := range r.c.Nodes() {
		r.disk(i).ClearFaults()
		r.tl.do(timedEvent{do: func() string { return r.restart(i) }})
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
			r.quietCalls(ctx)
		}
		cancel()
	}
	final := r.stepClient(ClientNormal)
	ctx, cancel = within(r.tl.now())
	defer cancel()
	if err := r.s.Workload.Final(ctx, Operation{Client: final.cl, Recorder: r.rec, ID: final.id, Rand: final.rng}); err != nil {
		r.violate("liveness: the final reads failed within %v: %v", bound, err)
	}
	stopWatch()
	for _, v := range r.c.Violations() { // those seen throughout, and a full check now
		r.violate("%s", v)
	}
	r.checkLogs()
}

// waitConverged waits until every node runs, is a member of the current
// configuration (no node joining), and holds, has committed and has
// applied the same log as every other.
func (r *simRun) waitConverged(ctx context.Context) error {
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

// noteState logs every node's state and the master's configuration.
func (r *simRun) noteState() {
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
			if out := r.operate(ctx, sc, kind); out.Err != nil {
				r.violate("liveness: client %d (%s) failed a probe %s after the faults stopped: %v", sc.id, sc.kind, kindName(kind), out.Err)
				ok = false
			}
		}
	}
	return ok
}

// quietCalls has every client call again, once the cluster serves: with no
// fault left, each call must be answered within quietLatency.
func (r *simRun) quietCalls(ctx context.Context) {
	for _, sc := range r.clients {
		for _, kind := range sc.probeKinds() {
			began := r.tl.now()
			out := r.operate(ctx, sc, kind)
			took := r.tl.now() - began
			switch {
			case out.Err != nil:
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

// checkLogs checks that every node holds the same log, that it holds
// each acknowledged write at its offset, and that each write answered
// chain.ErrResultExpired ("applied before") is in it.
func (r *simRun) checkLogs() {
	var ref []chain.Entry
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
		if ref == nil {
			ref = ents
			continue
		}
		if k := firstDifference(ref, ents); k >= 0 {
			r.violate("logs differ: n1 and n%d at position %d (n1 holds %d entries, n%d %d)", i+1, k, len(ref), i+1, len(ents))
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
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.writes {
		if w.Offset == 0 {
			continue
		}
		if w.Offset < first || w.Offset >= first+uint64(len(ref)) {
			r.violations = append(r.violations, fmt.Sprintf("lost write: %q acknowledged at offset %d, beyond the log's %d entries", w.Data, w.Offset, len(ref)))
			continue
		}
		if e := ref[w.Offset-first]; e.Command != w.Command || string(e.Data) != string(w.Data) {
			r.violations = append(r.violations, fmt.Sprintf("lost write: %q acknowledged at offset %d, where the log holds %q", w.Data, w.Offset, e.Data))
		}
	}
	for _, w := range r.expired {
		if !held[w.Command+"\x00"+string(w.Data)] {
			r.violations = append(r.violations, fmt.Sprintf("false ErrResultExpired: %q was refused as applied before, and the log does not hold it", w.Data))
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

// historyCheckTimeout bounds the linearizability check of one schedule,
// in real time; a failed history's visualization gets as long again.
const historyCheckTimeout = 20 * time.Second

// checkHistory checks the recorded history with the workload's model. It
// must run outside the bubble, so that its timeout runs.
func (r *simRun) checkHistory() {
	ops := r.rec.Operations()
	model := r.s.Workload.Model()
	switch porcupine.CheckOperationsTimeout(model, ops, historyCheckTimeout) {
	case porcupine.Ok:
		return
	case porcupine.Unknown:
		r.violate("history of %d operations: %v", len(ops), ErrCheckTimeout)
		return
	}
	_, viz, err := Linearizable(model, ops, historyCheckTimeout)
	if err != nil {
		r.violate("history of %d operations is not linearizable (%v)", len(ops), err)
		return
	}
	r.violate("history of %d operations is not linearizable; visualization: %s", len(ops), viz)
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
