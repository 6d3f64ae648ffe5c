package replica

import "container/list"

// ClientID identifies a client for de-duplication: its address and the
// random session number it drew.
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
	// Expired: the command is below the client's acknowledged mark: it was
	// answered before and its outcome is no longer kept; it is not applied
	// again.
	Expired
)

// Sessions is the replicated de-duplication table: for each recent client,
// the outcome of each command it has not yet acknowledged. It changes only
// as committed entries are applied, in offset order, so it is the same on
// every node. O is the outcome of applying a command. Sessions is not safe
// for concurrent use.
type Sessions[O any] struct {
	maxClients int
	maxResults int
	byClient   map[ClientID]*session[O]
	byUse      *list.List // of *session[O], most recently used at the front
}

// session is one client's record.
type session[O any] struct {
	client  ClientID
	acked   uint64       // outcomes of commands below this were forgotten
	results map[uint64]O // by command sequence number
	elem    *list.Element
}

// NewSessions returns a table that keeps up to maxClients clients (the
// least recently used is forgotten beyond) and up to maxResults outcomes
// per client (its lowest is forgotten beyond).
func NewSessions[O any](maxClients, maxResults int) *Sessions[O] {
	return &Sessions[O]{maxClients: maxClients, maxResults: maxResults,
		byClient: make(map[ClientID]*session[O]), byUse: list.New()}
}

// Apply is the table's step for a committed command about to be applied:
// it forgets the client's outcomes below acked (what the client says it
// has received) and returns what it knows of the command. On Unknown the
// caller applies the command and then calls Record.
func (s *Sessions[O]) Apply(id CommandID, acked uint64) (O, Verdict) {
	sess := s.touch(id.Client)
	sess.forgetBelow(acked)
	return sess.verdict(id.Seq)
}

// Peek returns what the table knows of the command without changing it:
// what Apply would answer for a retry, as far as the table knows now.
func (s *Sessions[O]) Peek(id CommandID) (O, Verdict) {
	sess, ok := s.byClient[id.Client]
	if !ok {
		var zero O
		return zero, Unknown
	}
	return sess.verdict(id.Seq)
}

// Record keeps the outcome of the command for its retries. Apply must have
// been called for it first.
func (s *Sessions[O]) Record(id CommandID, out O) {
	sess := s.touch(id.Client)
	if len(sess.results) >= s.maxResults {
		sess.forgetLowest()
	}
	sess.results[id.Seq] = out
}

// Len returns the number of clients kept.
func (s *Sessions[O]) Len() int { return len(s.byClient) }

// touch returns the client's session, creating it if needed and marking it
// most recently used; it forgets the least recently used session when the
// table is full.
func (s *Sessions[O]) touch(client ClientID) *session[O] {
	if sess, ok := s.byClient[client]; ok {
		s.byUse.MoveToFront(sess.elem)
		return sess
	}
	if len(s.byClient) >= s.maxClients {
		oldest := s.byUse.Back()
		s.byUse.Remove(oldest)
		delete(s.byClient, oldest.Value.(*session[O]).client)
	}
	sess := &session[O]{client: client, results: make(map[uint64]O)}
	sess.elem = s.byUse.PushFront(sess)
	s.byClient[client] = sess
	return sess
}

func (sess *session[O]) verdict(seq uint64) (O, Verdict) {
	if out, ok := sess.results[seq]; ok {
		return out, Duplicate
	}
	var zero O
	if seq < sess.acked {
		return zero, Expired
	}
	return zero, Unknown
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

// forgetLowest drops the outcome with the lowest sequence number and
// raises the acknowledged mark past it, so the choice is the same on every
// node.
func (sess *session[O]) forgetLowest() {
	lowest := uint64(0)
	for seq := range sess.results {
		if lowest == 0 || seq < lowest {
			lowest = seq
		}
	}
	delete(sess.results, lowest)
	sess.acked = max(sess.acked, lowest+1)
}
