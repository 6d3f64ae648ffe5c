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
	// client's mark has advanced, may be. The head refuses such a request
	// (Peek), so an entry meets it only if its head did not check.
	Beyond
	// Full: the command would start a session, and the table is full of
	// sessions in use (Peek only: the head refuses the request).
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
// (Beyond) rather than forget one. When a command starts a session and the
// table holds MaxSessions, the session idle longest is forgotten if it has
// been idle for over the expiry; the head refuses a new session when none
// is (Full, see Peek): a session in use is never forgotten.
//
// A forgotten session must never start again, or a retry of one of its
// applied commands would be applied twice. Each session carries its start
// stamp Since, a commit point its client learned before the session's
// first write; forgetting a session raises the table's horizon past its
// stamp, and a command below the horizon starts no session (NoSession).
// A new client's stamp is a commit point learned at its start, above the
// stamps of sessions idle long enough to be forgotten.
//
// Time. The table's clock is the largest Time of the commands applied, and
// a session's idle time runs from the clock's reading when its last
// command was applied, which is no earlier than that command's own stamp:
// the table never finds a session idle for longer than it was, heads'
// clocks apart. Clocks decide only which idle session may be forgotten,
// never whether a command is applied twice.
type Sessions[O any] struct {
	limits   Limits
	now      int64
	horizon  uint64
	byClient map[ClientID]*session[O]
	idle     *list.List // of *session[O], by the clock at their last use, oldest first
}

// session is one client session's record.
type session[O any] struct {
	client  ClientID
	since   uint64
	acked   uint64 // outcomes of commands below this were forgotten
	results map[uint64]O
	used    int64 // the table's clock when it last applied a command of the session
	elem    *list.Element
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
		if w.Since < s.horizon {
			return zero, NoSession
		}
		if len(s.byClient) >= s.limits.MaxSessions {
			s.forgetIdle(s.now) // none idle enough: the table grows past the bound (see Peek)
		}
		sess = &session[O]{client: id.Client, since: w.Since, results: make(map[uint64]O)}
		sess.elem = s.idle.PushBack(sess)
		s.byClient[id.Client] = sess
	}
	s.touch(sess)
	sess.forgetBelow(w.Acked)
	return s.verdict(sess, id.Seq)
}

// Peek is the head's check of a write before it orders it, with w from
// the request (w.Time the head's clock): what the command's entry would
// meet, as far as the table knows now, without changing the table. Every
// verdict but Unknown is final for the request: Duplicate and Expired
// answer a retry; NoSession (the session was forgotten: the horizon only
// rises), Beyond (w.Acked is the client's mark: the session's can only be
// higher) and Full refuse it before it takes a place in the log.
//
// Full is the table's bound: a new session is refused when the table and
// the starting sessions (those whose first command the head has ordered
// and not applied) number MaxSessions and no session has been idle past
// the expiry by w.Time. Apply, which must take every entry in the log,
// never refuses for it: the bound holds as far as the head counts its
// starting sessions (a new head counts those of its log's unapplied
// suffix).
func (s *Sessions[O]) Peek(id CommandID, w Write, starting int) (O, Verdict) {
	var zero O
	sess, ok := s.byClient[id.Client]
	switch {
	case ok:
		if out, found := sess.results[id.Seq]; found {
			return out, Duplicate
		}
		mark := max(sess.acked, w.Acked)
		switch {
		case id.Seq < mark:
			return zero, Expired
		case id.Seq-mark >= s.limits.Window:
			return zero, Beyond
		}
		return zero, Unknown
	case w.Since < s.horizon:
		return zero, NoSession
	case id.Seq >= w.Acked && id.Seq-w.Acked >= s.limits.Window:
		return zero, Beyond
	case len(s.byClient)+starting >= s.limits.MaxSessions && !s.idleAt(max(s.now, w.Time)):
		return zero, Full
	}
	return zero, Unknown
}

// Has reports whether the table holds client's session.
func (s *Sessions[O]) Has(client ClientID) bool {
	_, ok := s.byClient[client]
	return ok
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

// LatestStamp returns the table's replicated clock: the largest head stamp
// applied (Write.Time), in nanoseconds.
func (s *Sessions[O]) LatestStamp() int64 { return s.now }

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

// advance moves the table's clock to now, if that is later.
func (s *Sessions[O]) advance(now int64) { s.now = max(s.now, now) }

// touch marks sess used at the table's clock.
func (s *Sessions[O]) touch(sess *session[O]) {
	sess.used = s.now
	s.idle.MoveToBack(sess.elem)
}

// idleAt reports whether the session idle longest has been idle for over
// the expiry at clock reading now.
func (s *Sessions[O]) idleAt(now int64) bool {
	front := s.idle.Front()
	return front != nil && now-front.Value.(*session[O]).used > s.limits.Expiry
}

// forgetIdle forgets the session idle longest if it has been idle for over
// the expiry at now, raising the horizon past its start stamp.
func (s *Sessions[O]) forgetIdle(now int64) {
	if !s.idleAt(now) {
		return
	}
	front := s.idle.Front()
	sess := front.Value.(*session[O])
	s.idle.Remove(front)
	delete(s.byClient, sess.client)
	s.horizon = max(s.horizon, sess.since+1)
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
