package replica

import "container/list"

// ClientID identifies a session for de-duplication: the client's address
// and the random number the client drew for the session.
type ClientID struct {
	Addr    string
	Session uint64
}

// CommandID identifies one command of a client: its sequence number.
type CommandID struct {
	Client ClientID
	Seq    uint64
}

// Verdict is what the de-duplication table knows of a command.
type Verdict int

// The table's verdicts.
const (
	// Unknown: the table holds no outcome of the command; applying it is
	// its first application.
	Unknown Verdict = iota
	// Duplicate: the command was applied; its outcome is returned.
	Duplicate
	// Expired: the command is below the client's acknowledged mark: the
	// client said it has its outcome (or gave up on it), which is no
	// longer kept. It is not applied.
	Expired
	// NoSession: the command's session was forgotten (it was idle past
	// the expiry when a new session needed its place), so the table can no
	// longer tell a retry from a new command. It is not applied, and the
	// session is never created again.
	NoSession
	// Beyond: the command is too far above the client's acknowledged mark
	// (the window or more): the table would have to keep more outcomes for
	// the session than it may. It is not applied; a retry, once the
	// client's mark has advanced, may be.
	Beyond
	// Full: the command would start a session, and the table is full of
	// sessions in use. It is not applied and no session is created.
	Full
)

// Write is what the table's step needs of a committed command beyond its
// identity, all of it from the entry, so that every node decides alike.
type Write struct {
	// Acked is the client's acknowledged mark: it has the outcomes of its
	// commands below it (or gave up on them).
	Acked uint64
	// Since is the session's start stamp: a commit point the client
	// learned before the session's first write, the same in all of its
	// writes.
	Since uint64
	// Time is the clock of the head that ordered the entry.
	Time int64
}

// Limits are the table's bounds. They must be the same on every node of a
// chain.
type Limits struct {
	// Window bounds how far above the client's acknowledged mark a command
	// may be, and so the outcomes kept per session.
	Window uint64
	// MaxSessions bounds the number of sessions.
	MaxSessions int
	// Expiry is how long (by the entries' Time) a session must have been
	// idle before a new session may take its place.
	Expiry int64
}

// Sessions is the replicated de-duplication table: for each session, the
// outcome of each command its client has not yet acknowledged. It changes
// only as committed entries are applied, in offset order, and decides from
// their fields only, so it is the same function of the log on every node.
// O is the outcome of applying a command. Sessions is not safe for
// concurrent use.
//
// A session starts with its first applied command. The table keeps, per
// session, the outcome of every command from the client's acknowledged
// mark on, and refuses a command at the mark plus the window or beyond
// (Beyond) rather than forget one. When a command would start a session
// and the table holds MaxSessions, the session idle longest is forgotten
// if it has been idle for over the expiry; otherwise the command is refused
// (Full): a session in use is never forgotten.
//
// A forgotten session must never start again, or a retry of one of its
// applied commands would be applied twice. Each session carries its start
// stamp Since, a commit point its client learned before the session's
// first write; forgetting a session raises the table's horizon past its
// stamp, and a command below the horizon starts no session (NoSession).
// A new client's stamp is a commit point learned at its start, above the
// stamps of sessions idle long enough to be forgotten.
//
// Time. The table's clock is the largest Time of the commands applied. A
// session's idle time runs from the first command of any session applied
// after its last one (its clock reading then), which the head stamped no
// earlier than that last one, so the table never finds a session idle for
// longer than it was, heads' clocks apart. Clocks decide only which idle
// session may be forgotten, never whether a command is applied twice.
type Sessions[O any] struct {
	limits   Limits
	now      int64
	horizon  uint64
	byClient map[ClientID]*session[O]
	idle     *list.List    // of *session[O] unused since the clock last moved, by the clock at their last use
	dirty    []*session[O] // used since the clock last moved
}

// session is one client session's record.
type session[O any] struct {
	client  ClientID
	since   uint64
	acked   uint64 // outcomes of commands below this were forgotten
	results map[uint64]O
	used    int64         // the clock at the first stamp after the last use
	elem    *list.Element // in idle, unless dirty
	dirty   bool
}

// NewSessions returns an empty table with the given bounds.
func NewSessions[O any](limits Limits) *Sessions[O] {
	return &Sessions[O]{limits: limits, byClient: make(map[ClientID]*session[O]), idle: list.New()}
}

// Apply is the table's step for a committed command about to be applied:
// it starts the command's session if need be, forgets the session's
// outcomes below w.Acked, marks it used and returns what it knows of the
// command. On Unknown the caller applies the command and then calls
// Record; on any other verdict it does not apply it.
func (s *Sessions[O]) Apply(id CommandID, w Write) (O, Verdict) {
	s.advance(w.Time)
	var zero O
	sess, ok := s.byClient[id.Client]
	if !ok {
		switch {
		case w.Since < s.horizon:
			return zero, NoSession
		case len(s.byClient) >= s.limits.MaxSessions && !s.forgetIdle():
			return zero, Full
		}
		sess = &session[O]{client: id.Client, since: w.Since, results: make(map[uint64]O)}
		s.byClient[id.Client] = sess
		sess.dirty = true
		s.dirty = append(s.dirty, sess)
	}
	s.touch(sess)
	sess.forgetBelow(w.Acked)
	return s.verdict(sess, id.Seq)
}

// Peek returns what the table knows of the command without changing it:
// what the command's retry would meet, as far as the table knows now
// (Unknown for a session it does not hold, which the applier decides on).
func (s *Sessions[O]) Peek(id CommandID) (O, Verdict) {
	sess, ok := s.byClient[id.Client]
	if !ok {
		var zero O
		return zero, Unknown
	}
	return s.verdict(sess, id.Seq)
}

// Record keeps the outcome of the command for its retries. Apply must have
// returned Unknown for it just before.
func (s *Sessions[O]) Record(id CommandID, out O) {
	if sess, ok := s.byClient[id.Client]; ok {
		sess.results[id.Seq] = out
	}
}

// Len returns the number of sessions kept.
func (s *Sessions[O]) Len() int { return len(s.byClient) }

func (s *Sessions[O]) verdict(sess *session[O], seq uint64) (O, Verdict) {
	if out, ok := sess.results[seq]; ok {
		return out, Duplicate
	}
	var zero O
	switch {
	case seq < sess.acked:
		return zero, Expired
	case seq-sess.acked >= s.limits.Window:
		return zero, Beyond
	}
	return zero, Unknown
}

// advance moves the table's clock to now, if that is later, and counts
// the sessions used since it last moved as used at its new reading.
func (s *Sessions[O]) advance(now int64) {
	if now <= s.now {
		return
	}
	s.now = now
	for _, sess := range s.dirty {
		sess.dirty, sess.used = false, now
		sess.elem = s.idle.PushBack(sess)
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
}

// touch marks sess used since the clock last moved.
func (s *Sessions[O]) touch(sess *session[O]) {
	if sess.dirty {
		return
	}
	s.idle.Remove(sess.elem)
	sess.elem, sess.dirty = nil, true
	s.dirty = append(s.dirty, sess)
}

// forgetIdle forgets the session idle longest if it has been idle for over
// the expiry, raising the horizon past its start stamp, and reports
// whether it did.
func (s *Sessions[O]) forgetIdle() bool {
	front := s.idle.Front()
	if front == nil {
		return false
	}
	sess := front.Value.(*session[O])
	if s.now-sess.used <= s.limits.Expiry {
		return false
	}
	s.idle.Remove(front)
	delete(s.byClient, sess.client)
	s.horizon = max(s.horizon, sess.since+1)
	return true
}

// forgetBelow drops the outcomes of commands below acked.
func (sess *session[O]) forgetBelow(acked uint64) {
	if acked <= sess.acked {
		return
	}
	// Walk whichever is shorter: the newly acknowledged range or the map.
	if acked-sess.acked <= uint64(len(sess.results)) {
		for seq := sess.acked; seq < acked; seq++ {
			delete(sess.results, seq)
		}
	} else {
		for seq := range sess.results {
			if seq < acked {
				delete(sess.results, seq)
			}
		}
	}
	sess.acked = acked
}
