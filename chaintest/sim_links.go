package chaintest

import (
	"fmt"
	"time"

	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// addRule adds a network rule for d and returns its id.
func (r *simRun) addRule(d time.Duration, rule inmem.Rule) inmem.RuleID {
	id, err := r.net.AddRule(rule)
	if err != nil {
		r.violate("harness: the schedule drew invalid faults: %v", err)
		return 0
	}
	r.countRule(rule, 1)
	r.tl.after(d, func() string {
		r.net.RemoveRule(id)
		r.countRule(rule, -1)
		return fmt.Sprintf("remove rule %d", id)
	})
	return id
}

// countRule adds n to the count of rules in force on the addresses rule
// names.
func (r *simRun) countRule(rule inmem.Rule, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ruled == nil {
		r.ruled = make(map[string]int)
	}
	if rule.From == "" && rule.To == "" {
		r.ruled[""] += n
		return
	}
	for _, a := range []string{rule.From, rule.To} {
		if a != "" {
			r.ruled[a] += n
		}
	}
}

// ruledOn reports whether a message rule in force touches addr's links,
// so that a master may take its silence for a failure.
func (r *simRun) ruledOn(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ruled[""] > 0 || r.ruled[addr] > 0
}

// addresses returns the nodes' and masters' addresses.
func (r *simRun) addresses() []string {
	var out []string
	if r.p != nil {
		for i := range r.p.Servers() {
			out = append(out, r.p.ServerAddr(i))
		}
	} else {
		for i := range r.c.Nodes() {
			out = append(out, r.c.Addr(i))
		}
	}
	return append(out, r.masterAddrs()...)
}

// masterAddrs returns the masters' addresses; none for a static chain.
func (r *simRun) masterAddrs() []string {
	if r.group == nil {
		return nil
	}
	return r.group.addrs
}

// cut cuts one link one way.
func (r *simRun) cut(st Step) string {
	addrs := r.addresses()
	from, to := pick(r.rng, addrs), pick(r.rng, addrs)
	if from == to {
		return skipped(st, "a link to itself")
	}
	id := r.addRule(st.For, inmem.Rule{From: from, To: to, Faults: inmem.Faults{Drop: 1}})
	return fmt.Sprintf("%s: cut %s -> %s (rule %d)", st, from, to, id)
}

// messages applies a step's message faults, on every link or those from
// or to a node.
func (r *simRun) messages(st Step) string {
	if st.Messages.Link == "all" {
		return r.messagesAt(st, "")
	}
	i := r.victim(st.Target, true)
	if i < 0 {
		return skipped(st, "no node")
	}
	return r.messagesAt(st, r.c.Addr(i))
}

// messagesAt applies a step's message faults on the links from or to addr
// (as the step says), or on every link when addr is "".
func (r *simRun) messagesAt(st Step, addr string) string {
	m := st.Messages
	rule := inmem.Rule{Kinds: m.Kinds, Faults: m.Faults}
	where := "every link"
	if addr != "" && m.Link != "all" {
		where = fmt.Sprintf("links %s %s", m.Link, addr)
		if m.Link == "from" {
			rule.From = addr
		} else {
			rule.To = addr
		}
	}
	id := r.addRule(st.For, rule)
	return fmt.Sprintf("%s: on %s (rule %d)", st, where, id)
}

// slowMaster delays the masters' replies to the tail to just under the
// failure timeout and, midway, loses its heartbeats long enough for the
// master to replace it, while a client that knows the tail reads there.
func (r *simRun) slowMaster(st Step) string {
	i := r.victim("tail", true)
	if i < 0 {
		return skipped(st, "no tail")
	}
	addr := r.c.Addr(i)
	delay := r.s.FailureTimeout * 9 / 10
	for _, m := range r.masterAddrs() {
		r.addRule(st.For, inmem.Rule{From: m, To: addr, Kinds: []wire.MessageKind{wire.KindConfigUpdate},
			Faults: inmem.Faults{Delay: 1, MinDelay: delay, MaxDelay: delay}})
	}
	lost := st.For / 3
	r.tl.after(lost, func() string {
		id := r.addRule(r.s.FailureTimeout*3/2, inmem.Rule{From: addr, Kinds: []wire.MessageKind{wire.KindHeartbeat},
			Faults: inmem.Faults{Drop: 1}})
		return fmt.Sprintf("lose n%d's heartbeats (rule %d)", i+1, id)
	})
	r.pinnedReader(i, st.For+2*r.s.FailureTimeout)
	return fmt.Sprintf("%s: the masters' replies to n%d take %v", st, i+1, delay)
}

// masterFault kills (and later restarts) or cuts off the leading master.
func (r *simRun) masterFault(st Step, kind FaultKind) string {
	i := r.group.leader()
	if i < 0 {
		return skipped(st, "no leading master")
	}
	switch kind {
	case FaultMasterPartition:
		r.setMasterCut(i, true)
		r.tl.after(st.For, func() string { r.setMasterCut(i, false); return fmt.Sprintf("heal master %d", i) })
		return fmt.Sprintf("%s: cut off master %d", st, i)
	default:
		keep := kind != FaultMasterWipe
		r.group.kill(r.t, i)
		r.tl.after(st.For, func() string { return r.restartMaster(i, keep) })
		return fmt.Sprintf("%s: kill master %d", st, i)
	}
}

// masterCut reports whether master i is cut off.
func (r *simRun) masterCut(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cutMasters[i]
}

// setMasterCut cuts master i off or heals it.
func (r *simRun) setMasterCut(i int, cut bool) {
	r.mu.Lock()
	if r.cutMasters == nil {
		r.cutMasters = make(map[int]bool)
	}
	r.cutMasters[i] = cut
	r.mu.Unlock()
	if cut {
		r.group.partition(r.net, i)
	} else {
		r.group.heal(r.net, i)
	}
}

// restartMaster restarts master i if it is down.
func (r *simRun) restartMaster(i int, keepState bool) string {
	if r.group.running()[i] != nil {
		return ""
	}
	if err := r.group.restart(i, keepState); err != nil {
		r.violate("restart master %d: %v", i, err)
		return fmt.Sprintf("restart master %d failed: %v", i, err)
	}
	if keepState {
		return fmt.Sprintf("restart master %d with its state", i)
	}
	return fmt.Sprintf("restart master %d without its state", i)
}
