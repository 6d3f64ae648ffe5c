package replica

// Puller is the successor's side of the replication stream: it asks its
// predecessor for the entries from its last offset + 1 and takes only the
// response that answers its latest pull. One goroutine (the puller) owns
// it.
//
// A lost pull or response is recovered by pulling again with Restart,
// after a timeout without a response it could take; a duplicated, stale or
// early response is recognised by the offset it starts at and ignored.
type Puller struct {
	run     uint64
	next    uint64 // the offset the latest pull asked from
	restart bool   // the next pull asks the predecessor to restart the stream
}

// NewPuller returns a puller whose pulls carry run, a number drawn at
// random so the predecessor tells a restarted successor from an old copy
// of a pull. Its first pull asks to start the stream.
func NewPuller(run uint64) Puller { return Puller{run: run, restart: true} }

// Pull returns the pull to send for a log whose last offset is last.
func (p *Puller) Pull(last uint64, maxBytes int) Pull {
	p.next = last + 1
	return Pull{Run: p.run, Next: p.next, Restart: p.restart, MaxBytes: maxBytes}
}

// Answers reports whether a response whose entries start at from answers
// the latest pull.
func (p *Puller) Answers(from uint64) bool { return from == p.next }

// Took records that a response answering the latest pull was taken: the
// stream goes on.
func (p *Puller) Took() { p.restart = false }

// TimedOut records that no response answered the latest pull in time: the
// next pull asks for the stream again.
func (p *Puller) TimedOut() { p.restart = true }
