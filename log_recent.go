package chain

// recentBytes bounds the entries a log keeps in memory after appending
// them. The pull server and the applier read entries soon after they are
// appended, from within the window that flow control keeps in flight, so
// they find them here instead of reading (and copying) them back from
// storage.
const recentBytes = 4 << 20

// recentSegment is the number of entries in one segment of recentEntries.
const recentSegment = 1024

// recentEntries is the tail of a log's entries, dense and in order, shared
// read-only: the nodes' own readers never modify an entry or its data, and
// handlers must not either (see CommandHandler). The entries are kept in
// segments of recentSegment, every one full but the last, so adding never
// copies what is held, and eviction drops whole segments.
type recentEntries struct {
	segs  [][]Entry
	sizes []int // bytes of each segment's entries
	bytes int
}

// add appends ents, which continue the entries held (anything held that
// they do not continue is dropped first), and then drops the oldest
// segments while the rest still hold recentBytes. It copies the Entry
// values, so the caller may reuse ents, but not modify the data the
// entries point to.
func (r *recentEntries) add(ents []Entry) {
	if last, ok := r.last(); ok && last+1 != ents[0].Offset {
		r.clear()
	}
	for i := range ents {
		n := len(r.segs)
		if n == 0 || len(r.segs[n-1]) == recentSegment {
			// Readers may hold parts of the full segments; a new one is
			// never shared until written.
			r.segs = append(r.segs, make([]Entry, 0, recentSegment))
			r.sizes = append(r.sizes, 0)
			n++
		}
		size := ents[i].Size()
		r.segs[n-1] = append(r.segs[n-1], ents[i])
		r.sizes[n-1] += size
		r.bytes += size
	}
	for len(r.segs) > 1 && r.bytes-r.sizes[0] >= recentBytes {
		r.bytes -= r.sizes[0]
		r.segs[0] = nil
		r.segs, r.sizes = r.segs[1:], r.sizes[1:]
	}
}

// last returns the offset of the last entry held.
func (r *recentEntries) last() (uint64, bool) {
	if len(r.segs) == 0 {
		return 0, false
	}
	seg := r.segs[len(r.segs)-1]
	return seg[len(seg)-1].Offset, true
}

// get returns held entries from offset from, below to and up to maxBytes
// (at least one), if the entry at from is held; otherwise ok is false. It
// returns at most the rest of from's segment. The result shares the held
// entries and must not be modified.
func (r *recentEntries) get(from, to uint64, maxBytes int) (ents []Entry, ok bool) {
	last, held := r.last()
	if !held || from < r.segs[0][0].Offset || from > last || from >= to {
		return nil, false
	}
	idx := from - r.segs[0][0].Offset
	seg := r.segs[idx/recentSegment]
	start := int(idx % recentSegment)
	end := min(len(seg), start+int(min(to-from, recentSegment)))
	bytes := 0
	for i := start; i < end; i++ {
		if bytes += seg[i].Size(); bytes >= maxBytes {
			end = i + 1
			break
		}
	}
	return seg[start:end:end], true
}

// clear drops every held entry.
func (r *recentEntries) clear() {
	r.segs, r.sizes, r.bytes = nil, nil, 0
}
