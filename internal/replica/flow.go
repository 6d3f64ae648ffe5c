package replica

// Flow is the head's flow control: the entries it has ordered and not yet
// seen committed, whose bytes bound how much is in flight down the chain.
// While the bytes reach the limit, the head orders nothing new. One
// goroutine (the sequencer) owns it.
type Flow struct {
	offsets []uint64 // uncommitted offsets, in increasing order
	sizes   []int    // their sizes
	bytes   int
}

// Add records an entry of size bytes ordered at offset off, which is above
// every offset added before.
func (f *Flow) Add(off uint64, size int) {
	f.offsets = append(f.offsets, off)
	f.sizes = append(f.sizes, size)
	f.bytes += size
}

// Release forgets the entries at or below commit: they are committed.
func (f *Flow) Release(commit uint64) {
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

// Bytes returns the bytes of the entries in flight.
func (f *Flow) Bytes() int { return f.bytes }

// HasRoom reports whether the head may order more: the bytes in flight are
// below limit.
func (f *Flow) HasRoom(limit int) bool { return f.bytes < limit }
