package chaintest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chainrep/chain"
)

// invariants accumulates what the checks have seen: each node's commit
// point, the committed entries, and each incarnation's applied commands.
type invariants struct {
	mu         sync.Mutex
	commits    map[int]uint64         // highest commit point seen per node
	checked    map[int]uint64         // committed offsets compared per node
	committed  map[uint64]chain.Entry // the entry first seen committed at each offset
	violations []string
}

func newInvariants() *invariants {
	return &invariants{
		commits:   make(map[int]uint64),
		checked:   make(map[int]uint64),
		committed: make(map[uint64]chain.Entry),
	}
}

func (v *invariants) violate(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.violations) < 100 {
		v.violations = append(v.violations, fmt.Sprintf(format, args...))
	}
}

// incarnation is one start of one node; it checks that the node applies
// each (client, sequence number) at most once (invariant 5).
type incarnation struct {
	inv  *invariants
	node int
	mu   sync.Mutex
	seen map[commandID]uint64 // → offset of the application
}

type commandID struct {
	client  string
	session uint64
	seq     uint64
}

func (v *invariants) newIncarnation(node int) *incarnation {
	return &incarnation{inv: v, node: node, seen: make(map[commandID]uint64)}
}

// observe is the node's apply observer.
func (inc *incarnation) observe(e chain.Entry) {
	if e.Client == "" {
		return
	}
	id := commandID{e.Client, e.Session, e.Seq}
	inc.mu.Lock()
	prev, twice := inc.seen[id]
	inc.seen[id] = e.Offset
	inc.mu.Unlock()
	if twice {
		inc.inv.violate("invariant 5: node %d applied command %s/%d twice, at offsets %d and %d",
			inc.node, e.Client, e.Seq, prev, e.Offset)
	}
}

// CheckInvariants checks the chain's invariants now and fails the test
// (with t.Errorf, so it may be called from any goroutine) for each
// violation found here or by a running WatchInvariants:
//
//  1. prefix: each node's log is a prefix of its predecessor's, and dense;
//  2. what a node believes its successor has acknowledged, the successor
//     holds (the rest of the node's log is in flight or not yet sent);
//  3. each node's commit point never moved backward, and committed entries
//     never changed;
//  5. no node applied a (client, sequence number) twice.
//
// It reads the logs of killed nodes too. It returns the number of
// violations found so far.
func (c *Cluster) CheckInvariants() int {
	violations := c.Violations()
	for _, v := range violations {
		c.t.Errorf("chaintest: seed %d: %s", c.seed, v)
	}
	return len(violations)
}

// Violations checks the invariants as CheckInvariants does, but returns
// the violations found (and forgets them) instead of failing the test.
func (c *Cluster) Violations() []string {
	c.checkOnce(true)
	c.inv.mu.Lock()
	defer c.inv.mu.Unlock()
	violations := c.inv.violations
	c.inv.violations = nil
	return violations
}

// WatchInvariants checks invariants 1, 2, 3 and 5 every interval until the
// returned stop function is called; stop reports the violations through
// CheckInvariants's rules and returns their number.
func (c *Cluster) WatchInvariants(interval time.Duration) (stop func() int) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				c.checkOnce(false)
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() int {
		once.Do(func() { close(done); <-finished })
		return c.CheckInvariants()
	}
}

// logView is what one check read of one node's log.
type logView struct {
	first, last uint64
	commit      uint64
	running     bool
	readable    bool          // false while the storage is closed
	entries     []chain.Entry // [from, last]
	from        uint64
}

// checkOnce reads every node's log, tail first (a node only ever receives
// from its predecessor, so reading downstream first keeps the prefix
// relation intact while traffic flows), and records violations. A full
// check compares every entry; otherwise only entries above the lowest
// commit point checked before are read.
func (c *Cluster) checkOnce(full bool) {
	order := c.chainOrder()
	epoch := c.Config().Epoch
	current := make(map[int]bool, len(order)) // running under the current configuration
	for _, i := range order {
		n := c.Node(i)
		current[i] = c.master == nil || (n != nil && n.Config().Epoch == epoch)
	}
	inChain := make(map[int]bool, len(order))
	views := make(map[int]*logView, c.Nodes())
	for k := len(order) - 1; k >= 0; k-- {
		v := c.readView(order[k], full)
		views[order[k]], inChain[order[k]] = &v, true
	}
	for i := range c.Nodes() {
		if !inChain[i] {
			v := c.readView(i, full)
			views[i] = &v
		}
	}
	c.inv.mu.Lock()
	for i, v := range views {
		c.checkCommitted(i, v)
	}
	for k := 0; k+1 < len(order); k++ {
		i, j := order[k], order[k+1]
		if pred, succ := views[i], views[j]; pred.readable && succ.readable && current[i] && current[j] {
			c.checkPrefix(i, j, pred, succ)
		}
	}
	c.inv.mu.Unlock()
	c.checkAcknowledged(order)
}

// checkAcknowledged checks invariant 2: what a node believes its successor
// has acknowledged, the successor holds, so the node's log is the
// successor's followed by entries sent and not yet acknowledged (or not yet
// sent). It reads head first: a successor's log only grows while it runs,
// so the acknowledgment read earlier must be covered by the log read later.
func (c *Cluster) checkAcknowledged(order []int) {
	for k := 0; k+1 < len(order); k++ {
		i, j := order[k], order[k+1]
		pred, succ := c.Node(i), c.Node(j)
		if pred == nil || succ == nil {
			continue
		}
		predCfg := pred.Config()
		if predCfg.Epoch != succ.Config().Epoch || successorOf(predCfg, pred.ID()) != succ.ID() {
			continue // the two do not agree on the chain yet
		}
		acked := pred.Stats().SuccessorAcked
		st := c.Storage(j)
		if st == nil {
			continue
		}
		if last := st.LastOffset(); acked > last {
			c.inv.violate("invariant 2: node %d believes its successor acknowledged %d, but it holds up to %d",
				i, acked, last)
		}
	}
}

func (c *Cluster) readView(i int, full bool) logView {
	st := c.Storage(i)
	v := logView{}
	if st == nil {
		return v // killed, its storage closed
	}
	v.readable = true
	if node := c.Node(i); node != nil {
		s := node.Stats()
		v.commit, v.running = s.CommitPoint, true
	}
	v.last = st.LastOffset()
	v.first = st.FirstOffset()
	v.from = v.first
	if !full {
		c.inv.mu.Lock()
		low := c.inv.checked[i]
		c.inv.mu.Unlock()
		v.from = max(v.first, low+1)
	}
	if v.from <= v.last {
		ents, err := st.Entries(v.from, v.last+1, 1<<62)
		if errors.Is(err, chain.ErrClosed) || errors.Is(err, chain.ErrOutOfRange) {
			// Killed while we read, or the log changed between LastOffset
			// and Entries (a rejoining node drops its uncommitted suffix):
			// this round skips the node.
			return logView{}
		}
		if err != nil {
			c.inv.violate("node %d: read log [%d, %d]: %v", i, v.from, v.last, err)
			return logView{}
		}
		v.entries = ents
	}
	return v
}

// checkCommitted checks invariant 3 for node i. c.inv.mu must be held.
func (c *Cluster) checkCommitted(i int, v *logView) {
	inv := c.inv
	for k, e := range v.entries {
		if e.Offset != v.from+uint64(k) {
			inv.violations = append(inv.violations, fmt.Sprintf(
				"node %d: log not dense: offset %d at position of %d", i, e.Offset, v.from+uint64(k)))
			return
		}
	}
	if !v.running {
		return
	}
	if v.commit < inv.commits[i] {
		inv.violations = append(inv.violations, fmt.Sprintf(
			"invariant 3: node %d commit point moved back from %d to %d", i, inv.commits[i], v.commit))
	}
	inv.commits[i] = max(inv.commits[i], v.commit)
	for _, e := range v.entries {
		if e.Offset > v.commit {
			break
		}
		if seen, ok := inv.committed[e.Offset]; ok && !sameEntry(seen, e) {
			inv.violations = append(inv.violations, fmt.Sprintf(
				"invariant 3: committed entry %d differs on node %d: %s, first seen as %s", e.Offset, i, describe(e), describe(seen)))
		} else if !ok {
			inv.committed[e.Offset] = e
		}
	}
	inv.checked[i] = max(inv.checked[i], min(v.commit, v.last))
}

// checkPrefix checks invariant 1 between node i and its successor j.
// c.inv.mu must be held.
func (c *Cluster) checkPrefix(i, j int, pred, succ *logView) {
	if succ.last > pred.last {
		c.inv.violations = append(c.inv.violations, fmt.Sprintf(
			"invariant 1: node %d holds up to %d, beyond its predecessor's (node %d) %d", j, succ.last, i, pred.last))
		return
	}
	for _, e := range succ.entries {
		if e.Offset < pred.from || e.Offset > pred.last {
			continue
		}
		if p := pred.entries[e.Offset-pred.from]; !sameEntry(p, e) {
			c.inv.violations = append(c.inv.violations, fmt.Sprintf(
				"invariant 1: entry %d differs between node %d and its successor, node %d", e.Offset, i, j))
			return
		}
	}
}

func sameEntry(a, b chain.Entry) bool {
	return a.Offset == b.Offset && a.Epoch == b.Epoch && a.Client == b.Client && a.Session == b.Session && a.Seq == b.Seq &&
		a.Acked == b.Acked && a.Command == b.Command && bytes.Equal(a.Data, b.Data)
}

// successorOf returns the id of the node that pulls from id in cfg: the
// next member, or the joining node after the tail.
func successorOf(cfg chain.Config, id string) string {
	for i, m := range cfg.Members {
		if m.ID != id {
			continue
		}
		if i+1 < len(cfg.Members) {
			return cfg.Members[i+1].ID
		}
		if cfg.Joining != nil {
			return cfg.Joining.ID
		}
	}
	return ""
}

// describe names an entry in a violation report.
func describe(e chain.Entry) string {
	return fmt.Sprintf("{epoch %d, client %q/%d seq %d, acked %d, command %q, %d bytes}",
		e.Epoch, e.Client, e.Session, e.Seq, e.Acked, e.Command, len(e.Data))
}
