package chain

// pendingWrite is a client write waiting at the head to be ordered.
type pendingWrite struct {
	client string
	req    *ClientRequest
}

// flowControl tracks the entries the head has ordered but not yet seen
// committed, to bound the bytes in flight down the chain. Only the
// sequencer uses it.
type flowControl struct {
	offsets []uint64 // uncommitted offsets, in order
	sizes   []int    // their sizes
	bytes   int
}

func (f *flowControl) add(off uint64, size int) {
	f.offsets = append(f.offsets, off)
	f.sizes = append(f.sizes, size)
	f.bytes += size
}

// release forgets the entries at or below commit.
func (f *flowControl) release(commit uint64) {
	i := 0
	for i < len(f.offsets) && f.offsets[i] <= commit {
		f.bytes -= f.sizes[i]
		i++
	}
	if i == 0 {
		return
	}
	f.offsets = append(f.offsets[:0], f.offsets[i:]...)
	f.sizes = append(f.sizes[:0], f.sizes[i:]...)
}

// runSequencer is the head's ordering loop: it takes queued writes in
// batches, gives them the next dense offsets, appends them to the log (one
// storage write per batch) and so makes them available to the successor.
// While the bytes in flight reach the limit it orders nothing, the queue
// fills and new writes are refused with ErrBusy.
func (n *Node) runSequencer() {
	var carry *pendingWrite // a write that did not fit in the last batch
	batch := make([]Entry, 0, 256)
	for {
		if carry == nil {
			select {
			case w := <-n.writes:
				carry = &w
			case <-n.lifecycle.done():
				return
			}
		}
		if !n.waitForRoom() {
			return
		}
		_, last, _, _ := n.log.state()
		batch = batch[:0]
		bytes := 0
		for carry != nil {
			e := n.entryFor(*carry, last+uint64(len(batch))+1)
			if len(batch) > 0 && bytes+e.Size() > n.opts.maxBatchBytes {
				break
			}
			batch = append(batch, e)
			bytes += e.Size()
			carry = nil
			select {
			case w := <-n.writes:
				carry = &w
			default:
			}
		}
		if err := n.log.append(batch); err != nil {
			n.fail(err)
			return
		}
		for i := range batch {
			n.flow.add(batch[i].Offset, batch[i].Size())
		}
		n.counters.ordered.Add(uint64(len(batch)))
		if n.cfg.Load().role.IsTail() {
			n.log.advanceCommit(batch[len(batch)-1].Offset)
		}
		clear(batch) // drop references to payloads
	}
}

// entryFor builds the log entry of a queued write at offset off.
func (n *Node) entryFor(w pendingWrite, off uint64) Entry {
	e := Entry{
		Offset: off,
		Epoch:  n.cfg.Load().Epoch,
		Client: w.client,
		Seq:    w.req.ID,
		Acked:  w.req.Acked,
		Data:   w.req.Data,
	}
	if w.req.Op == OpCommand {
		e.Command = w.req.Name
	}
	return e
}

// waitForRoom blocks while the bytes in flight reach the limit; it reports
// false if the node halted meanwhile.
func (n *Node) waitForRoom() bool {
	for {
		_, _, commit, changed := n.log.state()
		n.flow.release(commit)
		n.inflightBytes.Store(int64(n.flow.bytes))
		if n.flow.bytes < n.opts.maxInflightBytes {
			return true
		}
		select {
		case <-changed:
		case <-n.lifecycle.done():
			return false
		}
	}
}
