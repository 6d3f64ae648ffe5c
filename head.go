package chain

import (
	"fmt"
	"sync"
	"time"

	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// pendingWrite is a client write waiting at the head to be ordered.
type pendingWrite struct {
	client string
	req    *wire.ClientRequest
}

func (w *pendingWrite) id() replica.CommandID {
	return replica.CommandID{Client: replica.ClientID{Addr: w.client, Session: w.req.Session}, Seq: w.req.ID}
}

// orderedSet holds the commands the head has put in its log but not yet
// applied. With the session table (which covers applied commands) it lets
// the head recognise a retry and keep it out of the log, so each command
// appears in the log once. It also counts the sessions its commands start,
// toward the table's bound.
type orderedSet struct {
	mu       sync.Mutex
	ids      map[replica.CommandID]bool // true: the command starts its session
	starting map[replica.ClientID]int   // commands in the set that start each session
}

func (o *orderedSet) init() {
	o.ids = make(map[replica.CommandID]bool)
	o.starting = make(map[replica.ClientID]int)
}

// Claim records id and reports whether it was new.
func (o *orderedSet) Claim(id replica.CommandID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.ids[id]; ok {
		return false
	}
	o.ids[id] = false
	return true
}

// Start marks the claimed id as the start of its session.
func (o *orderedSet) Start(id replica.CommandID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if starts, ok := o.ids[id]; ok && !starts {
		o.ids[id] = true
		o.starting[id.Client]++
	}
}

// Starting reports whether a command in the set starts client's session,
// and how many sessions the set's commands start.
func (o *orderedSet) Starting(client replica.ClientID) (bool, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.starting[client] > 0, len(o.starting)
}

// removeApplied forgets the commands of applied entries.
func (o *orderedSet) removeApplied(ents []Entry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range ents {
		if ents[i].Client != "" {
			o.removeLocked(entryCommand(&ents[i]))
		}
	}
}

// Release forgets one command.
func (o *orderedSet) Release(id replica.CommandID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.removeLocked(id)
}

func (o *orderedSet) removeLocked(id replica.CommandID) {
	starts, ok := o.ids[id]
	if !ok {
		return
	}
	delete(o.ids, id)
	if starts {
		if o.starting[id.Client]--; o.starting[id.Client] <= 0 {
			delete(o.starting, id.Client)
		}
	}
}

// headClock stamps the entries a head orders (Entry.Time), the clock that
// sessions expire by. It runs on from the largest stamp the node has
// applied, by the time elapsed on the node's monotonic clock, so a step of
// the wall clock moves it neither back nor forward, and a new head goes on
// from where the old one's stamps reached the log.
type headClock struct {
	base  int64     // the largest stamp applied when the head started
	start time.Time // when it started, read for its monotonic reading only
}

// newHeadClock starts the head's clock from the largest stamp it knows:
// the session table's, or that of the last entry in its log, which a
// previous head (or this node's previous run as head) may have ordered
// without its being applied yet.
func (n *Node) newHeadClock() headClock {
	n.stateMu.RLock()
	base := n.sessions.LatestStamp()
	n.stateMu.RUnlock()
	if _, last, _, _ := n.log.state(); last > 0 {
		if ents, err := n.log.entries(last, last+1, n.opts.maxBatchBytes); err == nil && len(ents) == 1 {
			base = max(base, ents[0].Time)
		}
	}
	return headClock{base: base, start: time.Now()}
}

// now returns the stamp for entries ordered now.
func (c headClock) now() int64 { return c.base + int64(time.Since(c.start)) }

// runSequencer is the head's ordering loop: it takes queued writes in
// batches, drops retries of commands already in the log (answering those
// already applied at once), gives the rest the next dense offsets and
// appends them to the log in one storage write, which makes them available
// to the successor. While the bytes in flight reach the limit it orders
// nothing, the queue fills and new writes are refused with ErrBusy.
func (n *Node) runSequencer(done <-chan struct{}) {
	// Retries are recognised from the session table, which holds the
	// entries through the saved commit point only once they are replayed.
	if !n.applied.wait(n.applied.replayedThrough, nil, done) {
		return
	}
	var carry *pendingWrite // a write that did not fit in the last batch
	writes := make([]pendingWrite, 0, 256)
	batch := make([]Entry, 0, 256)
	var scratch orderScratch
	clock := n.newHeadClock()
	for {
		if carry == nil {
			select {
			case w := <-n.writes:
				n.quota.release(w.client)
				carry = &w
			case <-done:
				return
			}
		}
		if !n.waitForRoom(done) {
			return
		}
		writes, carry = n.collectWrites(writes[:0], carry)
		_, last, _, _ := n.log.state()
		batch = batch[:0]
		now := clock.now()
		for _, w := range n.dropRetries(writes, now, &scratch) {
			batch = append(batch, n.entryFor(w, last+uint64(len(batch))+1, now))
		}
		clear(writes) // drop references to payloads
		if len(batch) == 0 {
			continue
		}
		if err := n.log.append(batch); err != nil {
			n.fail(err)
			return
		}
		for i := range batch {
			n.flow.Add(batch[i].Offset, batch[i].Size())
		}
		n.counters.ordered.Add(uint64(len(batch)))
		n.commitReported(replica.Report{}) // a sole member commits what it appended
		clear(batch)
	}
}

// recoverOrdered fills the ordered set with the commands of the entries
// from offset from on, which are in the log but not applied: an earlier run
// of this head, or an earlier head, put them there, so retries of them must
// not be appended again. The applier must not run concurrently (it
// removes applied commands from the set).
func (n *Node) recoverOrdered(from uint64) error {
	_, last, _, _ := n.log.state()
	for from <= last {
		ents, err := n.log.entries(from, last+1, n.opts.maxBatchBytes)
		if err != nil {
			return fmt.Errorf("recover ordered commands: %w", err)
		}
		for i := range ents {
			if ents[i].Client == "" {
				continue
			}
			id := entryCommand(&ents[i])
			if n.ordered.Claim(id) {
				if starts, _ := n.ordered.Starting(id.Client); !starts && !n.sessions.Has(id.Client) {
					n.ordered.Start(id)
				}
			}
		}
		from += uint64(len(ents))
	}
	return nil
}

// collectWrites takes carry and as many queued writes as fit in one batch;
// it returns the write that did not fit, if any.
func (n *Node) collectWrites(writes []pendingWrite, carry *pendingWrite) ([]pendingWrite, *pendingWrite) {
	bytes := 0
	for carry != nil {
		size := len(carry.req.Data) + len(carry.req.Name) + len(carry.client) + wire.EntryOverhead
		if len(writes) > 0 && bytes+size > n.opts.maxBatchBytes {
			return writes, carry
		}
		writes = append(writes, *carry)
		bytes += size
		carry = nil
		select {
		case w := <-n.writes:
			n.quota.release(w.client)
			carry = &w
		default:
		}
	}
	return writes, nil
}

// dropRetries returns the writes that are new commands, as the ordering
// step (replica.DecideOrder) decides at the head's clock reading now: a
// retry of a command still in flight is dropped (the tail will answer the
// original); a retry of an applied command is answered now with its
// recorded outcome, and a write the session table refuses (a forgotten
// session, beyond its window, no room for a new session) with the refusal,
// so that it never takes a place in the log.
func (n *Node) dropRetries(writes []pendingWrite, now int64, scratch *orderScratch) []pendingWrite {
	scratch.ids, scratch.ws = scratch.ids[:0], scratch.ws[:0]
	for i := range writes {
		scratch.ids = append(scratch.ids, writes[i].id())
		scratch.ws = append(scratch.ws, replica.Write{Acked: writes[i].req.Acked, Since: writes[i].req.Since, Time: now})
	}
	var answered []reply
	n.stateMu.RLock()
	scratch.steps = replica.DecideOrder(scratch.steps, scratch.ids, scratch.ws, &n.ordered, n.sessions)
	n.stateMu.RUnlock()
	fresh := writes[:0]
	for i, d := range scratch.steps {
		switch d.Action {
		case replica.Order:
			fresh = append(fresh, writes[i])
		case replica.Answer:
			out, _ := knownOutcome(d.Outcome, d.Verdict, 0)
			answered = append(answered, reply{to: writes[i].client, resp: wire.ClientResponse{
				ID: writes[i].req.ID, Offset: out.offset, Result: out.result, Err: out.err,
			}})
		}
	}
	clear(scratch.steps)
	for _, r := range answered {
		n.send(r.to, &r.resp)
	}
	return fresh
}

// orderScratch is the sequencer's reusable space for the ordering step.
type orderScratch struct {
	ids   []replica.CommandID
	ws    []replica.Write
	steps []replica.OrderDecision[outcome]
}

// entryFor builds the log entry of a queued write at offset off, stamped
// with the head's clock reading now (nanoseconds since the Unix epoch).
func (n *Node) entryFor(w pendingWrite, off uint64, now int64) Entry {
	e := Entry{
		Offset:  off,
		Epoch:   n.cfg.Load().Epoch,
		Client:  w.client,
		Session: w.req.Session,
		Seq:     w.req.ID,
		Acked:   w.req.Acked,
		Since:   w.req.Since,
		Time:    now,
		Data:    w.req.Data,
	}
	if w.req.Op == wire.OpCommand {
		e.Command = w.req.Name
	}
	return e
}

// waitForRoom blocks while the bytes in flight reach the limit; it reports
// false if the node halted meanwhile.
func (n *Node) waitForRoom(done <-chan struct{}) bool {
	for {
		_, _, commit, changed := n.log.state()
		n.flow.Release(commit)
		n.inflightBytes.Store(int64(n.flow.Bytes()))
		if n.flow.HasRoom(n.opts.maxInflightBytes) {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}
