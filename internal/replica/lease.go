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
// the wall clock plays no part. Instants are positive: 0 stands for none
// (a reply of a master that echoes no heartbeat). The zero Lease is held
// by nobody: a node serves only once it has had contact.
//
// Contact is vouched for by a master's reply to a heartbeat, and begins
// when that heartbeat was sent, not when the reply arrived: a reply that
// waited (in a paused process's socket, on a slow link) renews nothing
// beyond what the master knew. The node notes each heartbeat it sends
// (Sent), the master echoes the send instant in its reply, and Answered
// renews the lease from the echoed instant.
type Lease struct {
	fenceAfter time.Duration
	contact    time.Duration // the instant the last contact began
	held       bool          // some contact was ever made
	sent       time.Duration // the instant the latest heartbeat was sent; 0: none
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

// Sent returns the lease noting that a heartbeat was sent at instant at.
// The caller notes a heartbeat before it sends it, so that its reply is
// never older than the note.
func (l Lease) Sent(at time.Duration) Lease {
	l.sent = max(l.sent, at)
	return l
}

// Echoes reports whether a reply that echoes the send instant echo
// answers a heartbeat this node sent, and so may renew the lease: echo is
// positive (a master that echoes nothing vouches for no instant, so its
// reply renews nothing) and no later than the latest heartbeat sent. A
// later echo was never sent by this node: the reply is forged, or meant
// for another process, and is ignored.
func (l Lease) Echoes(echo time.Duration) bool {
	return echo > 0 && echo <= l.sent
}

// Answered returns the lease renewed by a master's reply that echoes the
// send instant echo of the heartbeat it answers, when Echoes(echo); any
// other reply leaves the lease as it was.
func (l Lease) Answered(echo time.Duration) Lease {
	if !l.Echoes(echo) {
		return l
	}
	return l.Renewed(echo)
}

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
