package memory

import "github.com/chainrep/chain"

// segmentSize is the number of entries per segment.
const segmentSize = 4096

// segments holds a dense run of entries in fixed-size segments, so that
// appending never copies the entries already held and truncating a prefix
// releases whole segments. It is not safe for concurrent use.
type segments struct {
	// base is the offset of the first slot of segs[0]; first is the lowest
	// offset held and next the offset the next append takes.
	base, first, next uint64
	segs              [][]chain.Entry
}

func newSegments(first uint64) segments {
	return segments{base: first, first: first, next: first}
}

// at returns the entry at off, which must be in [first, next).
func (s *segments) at(off uint64) *chain.Entry {
	i := off - s.base
	return &s.segs[i/segmentSize][i%segmentSize]
}

// push adds e at offset next.
func (s *segments) push(e chain.Entry) {
	i := s.next - s.base
	if i/segmentSize == uint64(len(s.segs)) {
		s.segs = append(s.segs, make([]chain.Entry, segmentSize))
	}
	s.segs[i/segmentSize][i%segmentSize] = e
	s.next++
}

// truncateSuffix drops the entries at and above from, which must be in
// [first, next].
func (s *segments) truncateSuffix(from uint64) {
	if from == s.first {
		s.reset(from)
		return
	}
	for off := from; off < s.next; off++ {
		*s.at(off) = chain.Entry{} // release Data
	}
	s.next = from
	// Keep the segments that still hold entries; drop the ones after.
	keep := (from - s.base + segmentSize - 1) / segmentSize
	clear(s.segs[keep:])
	s.segs = s.segs[:keep]
}

// truncatePrefix drops the entries below before, which must be above
// first; when before >= next the run becomes empty and starts at before.
func (s *segments) truncatePrefix(before uint64) {
	if before >= s.next {
		s.reset(before)
		return
	}
	drop := (before - s.base) / segmentSize // segments wholly below before
	for off := max(s.first, s.base+drop*segmentSize); off < before; off++ {
		*s.at(off) = chain.Entry{} // release Data in the kept segment
	}
	clear(s.segs[:drop])
	s.segs = s.segs[drop:]
	s.base += drop * segmentSize
	s.first = before
}

// reset empties the run so that the next append takes offset next.
func (s *segments) reset(next uint64) {
	*s = newSegments(next)
}
