package replica

// StreamWindow is how many responses a pull server sends beyond the last
// pull it received: while they travel and the successor appends them, the
// next entries are already on their way, so the link is not idle for a
// round trip per batch.
const StreamWindow = 4

// Pull is what a successor's pull asks of the stream.
type Pull struct {
	Run      uint64 // the successor's puller run
	Next     uint64 // the first offset it does not hold
	Restart  bool   // it lost the stream: start again at Next
	MaxBytes int    // bound on a response's entries; 0 for the server's own
}

// Stream is the predecessor's side of the replication stream to its
// successor: where the stream is, and which responses the successor has
// not acknowledged. One goroutine (the pull server) owns it.
type Stream struct {
	active   bool   // a pull started the stream, and no refusal ended it
	run      uint64 // the successor's puller run
	next     uint64 // the first offset not sent yet
	acked    uint64 // the highest Next the run has pulled with
	maxBytes int
	// unacked holds, for each response sent and not acknowledged, the
	// offset just after its entries, in order.
	unacked []uint64
}

// Take applies a pull from the successor. A pull of a new run, or one
// asking to restart, starts the stream at its Next; a pull of the run
// with a lower Next than one before it is an old copy (duplicated or
// reordered by the network) and changes nothing; any other acknowledges
// the responses whose entries lie below its Next.
func (s *Stream) Take(p Pull) {
	if !s.active || p.Run != s.run {
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

func (s *Stream) restart(p Pull) {
	s.active, s.run, s.next, s.acked, s.maxBytes = true, p.Run, p.Next, p.Next, p.MaxBytes
	s.unacked = s.unacked[:0]
}

// Active reports whether a pull started the stream and no refusal ended it.
func (s *Stream) Active() bool { return s.active }

// Next returns the first offset the stream has not sent.
func (s *Stream) Next() uint64 { return s.next }

// MaxBytes returns the bound on a response's entries: the pull's, capped
// by limit (the server's own).
func (s *Stream) MaxBytes(limit int) int {
	if s.maxBytes > 0 {
		return min(limit, s.maxBytes)
	}
	return limit
}

// CanSend reports whether the stream may send another response now.
func (s *Stream) CanSend() bool { return s.active && len(s.unacked) < StreamWindow }

// Sent records a response whose entries ended just before after (equal to
// Next for an empty response).
func (s *Stream) Sent(after uint64) {
	s.next = after
	s.unacked = append(s.unacked, after)
}

// Stop ends the stream until the successor pulls again, as after a
// refusal.
func (s *Stream) Stop() {
	s.active = false
	s.unacked = s.unacked[:0]
}

// StreamAction is what the pull server must do next with the log holding
// the offsets [first, last].
type StreamAction int

// The pull server's actions.
const (
	// StreamWait: nothing to send now; wait for a pull, the log to grow or
	// the poll interval.
	StreamWait StreamAction = iota
	// StreamSend: send the entries from Next.
	StreamSend
	// StreamRefuse: the log does not hold Next; refuse, which ends the
	// stream.
	StreamRefuse
)

// Action decides what the pull server does with the log holding
// [first, last]: send when the stream may and has entries to send, refuse
// a Next the log does not hold (below first, or beyond last+1), else wait.
func (s *Stream) Action(first, last uint64) StreamAction {
	switch {
	case !s.CanSend():
		return StreamWait
	case s.next < first || s.next > last+1:
		return StreamRefuse
	case s.next <= last:
		return StreamSend
	}
	return StreamWait
}

// Supersedes reports whether a pull received later replaces one received
// earlier that is still waiting for the pull server. Within one puller
// run the one asking for the later offset wins, so an old pull
// duplicated or reordered by the network does not replace the current one;
// a new run (a restarted successor) replaces the old.
func Supersedes(later, earlier Pull) bool {
	return later.Run != earlier.Run || later.Next >= earlier.Next
}
