package replica

import "time"

// Lease is the fencing lease of a node that follows a master: the node
// serves only while its last contact with the master is recent enough, so
// that a node the master may already have replaced (it stopped hearing
// the node's heartbeats) stops serving before the master names anyone in
// its place.
//
// Instants are readings of a monotonic clock, as durations since an origin
// the caller fixes (for example time.Since of a time.Time taken at start);
// the wall clock plays no part. The zero Lease is held by nobody: a node
// serves only once it has had contact.
type Lease struct {
	fenceAfter time.Duration
	contact    time.Duration // the instant the last contact began
	held       bool          // some contact was ever made
}

// WithFenceAfter returns the lease with the length the master announced;
// a non-positive length leaves it unchanged.
func (l Lease) WithFenceAfter(d time.Duration) Lease {
	if d > 0 {
		l.fenceAfter = d
	}
	return l
}

// FenceAfter returns the lease's length.
func (l Lease) FenceAfter() time.Duration { return l.fenceAfter }

// Renewed returns the lease renewed by a contact that began at instant at:
// the caller passes the earliest instant the contact can vouch for (when
// the heartbeat that the master answered was sent), never a later one.
// Contact only moves forward: a late or duplicated reply never extends the
// lease past what a newer one gave.
func (l Lease) Renewed(at time.Duration) Lease {
	if !l.held || at > l.contact {
		l.contact, l.held = at, true
	}
	return l
}

// MayServe reports whether the node may serve at instant now: it has had
// contact, and no more than the lease's length has passed since.
func (l Lease) MayServe(now time.Duration) bool {
	return l.held && now-l.contact <= l.fenceAfter
}
