package chain

// streamWindow is how many responses a pull server sends beyond the last
// pull it received: while they travel and the successor appends them, the
// next entries are already on their way, so the link is not idle for a
// round trip per batch.
const streamWindow = 4

// pullStream is a pull server's state of its stream to the successor: where
// the stream is, and which responses the successor has not acknowledged.
// Only the pull server uses it.
type pullStream struct {
	active   bool   // a pull started the stream, and no refusal ended it
	session  uint64 // the successor's puller session
	next     uint64 // the first offset not sent yet
	acked    uint64 // the highest Next the session has pulled with
	maxBytes int    // bound on a response's entries, from the pull
	// unacked holds, for each response sent and not acknowledged, the
	// offset just after its entries, in order.
	unacked []uint64
}

// take applies a pull from the successor. A pull of a new session, or
// one asking to restart, starts the stream at its Next; a pull of the
// session with a lower Next than one before it is an old copy and changes
// nothing; any other acknowledges the responses whose entries lie below its
// Next.
func (s *pullStream) take(p *PullRequest) {
	if !s.active || p.Session != s.session {
		s.restart(p)
		return
	}
	if p.Next < s.acked {
		return
	}
	if p.Restart || p.Next > s.next {
		s.restart(p)
		return
	}
	s.acked = p.Next
	done := 0
	for done < len(s.unacked) && s.unacked[done] <= p.Next {
		done++
	}
	s.unacked = append(s.unacked[:0], s.unacked[done:]...)
}

// restart starts the stream at p.Next, forgetting what was sent before.
func (s *pullStream) restart(p *PullRequest) {
	s.active, s.session, s.next, s.acked, s.maxBytes = true, p.Session, p.Next, p.Next, p.MaxBytes
	s.unacked = s.unacked[:0]
}

// canSend reports whether the stream may send another response now.
func (s *pullStream) canSend() bool {
	return s.active && len(s.unacked) < streamWindow
}

// sent records a response whose entries ended just before after (equal to
// s.next for an empty response).
func (s *pullStream) sent(after uint64) {
	s.next = after
	s.unacked = append(s.unacked, after)
}

// stop ends the stream until the successor pulls again, as after a
// refusal.
func (s *pullStream) stop() {
	s.active = false
	s.unacked = s.unacked[:0]
}
