package chain

import "container/list"

// maxResultsPerSession bounds how many results one client's session keeps
// when the client never advances its acknowledged mark.
const maxResultsPerSession = 4 * DefaultMaxInflight

// outcome is what applying an entry produced; it is what a retry of the
// same command receives.
type outcome struct {
	offset uint64
	result []byte
	err    *RemoteError
}

// session is one client's de-duplication record.
type session struct {
	client  clientID
	acked   uint64             // results of commands below this were forgotten
	results map[uint64]outcome // by command sequence number
	elem    *list.Element      // position in sessions.byUse
}

// sessions is the replicated de-duplication table: for each recent client,
// the outcome of each command it has not yet acknowledged. It changes only
// as committed entries are applied, in offset order, so it is the same on
// every node. It is not safe for concurrent use.
type sessions struct {
	max      int
	byClient map[clientID]*session
	byUse    *list.List // of *session, most recently used at the front
}

func newSessions(max int) *sessions {
	return &sessions{max: max, byClient: make(map[clientID]*session), byUse: list.New()}
}

// lookup returns the outcome of an earlier application of e's command, if
// e is a duplicate. A command below the client's acknowledged mark reports
// ErrResultExpired: it was answered before, and is not applied again.
func (s *sessions) lookup(e *Entry) (outcome, bool) {
	if e.Client == "" {
		return outcome{}, false
	}
	sess := s.touch(clientID{e.Client, e.Session})
	sess.forgetBelow(e.Acked)
	if out, ok := sess.results[e.Seq]; ok {
		return out, true
	}
	if e.Seq < sess.acked {
		return outcome{offset: e.Offset, err: expiredError()}, true
	}
	return outcome{}, false
}

// peek returns the recorded outcome of the client's command seq without
// changing the table: what lookup would answer for a retry, as far as the
// table knows now.
func (s *sessions) peek(client clientID, seq uint64) (outcome, bool) {
	sess, ok := s.byClient[client]
	if !ok {
		return outcome{}, false
	}
	if out, ok := sess.results[seq]; ok {
		return out, true
	}
	if seq < sess.acked {
		return outcome{err: expiredError()}, true
	}
	return outcome{}, false
}

func expiredError() *RemoteError {
	return &RemoteError{Code: CodeResultExpired, Message: "command was acknowledged before; its result is no longer kept"}
}

// record keeps the outcome of e's command for retries. lookup must have
// been called for e first.
func (s *sessions) record(e *Entry, out outcome) {
	if e.Client == "" {
		return
	}
	sess := s.byClient[clientID{e.Client, e.Session}]
	if len(sess.results) >= maxResultsPerSession {
		sess.forgetLowest()
	}
	sess.results[e.Seq] = out
}

// touch returns the client's session, creating it if needed and marking it
// most recently used; it forgets the least recently used session when the
// table is full.
func (s *sessions) touch(client clientID) *session {
	if sess, ok := s.byClient[client]; ok {
		s.byUse.MoveToFront(sess.elem)
		return sess
	}
	if len(s.byClient) >= s.max {
		oldest := s.byUse.Back()
		victim := oldest.Value.(*session)
		s.byUse.Remove(oldest)
		delete(s.byClient, victim.client)
	}
	sess := &session{client: client, results: make(map[uint64]outcome)}
	sess.elem = s.byUse.PushFront(sess)
	s.byClient[client] = sess
	return sess
}

// len returns the number of sessions kept.
func (s *sessions) len() int { return len(s.byClient) }

// forgetBelow drops the results of commands below acked.
func (sess *session) forgetBelow(acked uint64) {
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

// forgetLowest drops the result with the lowest sequence number and raises
// the acknowledged mark past it, so the choice is the same on every node.
func (sess *session) forgetLowest() {
	lowest := uint64(0)
	for seq := range sess.results {
		if lowest == 0 || seq < lowest {
			lowest = seq
		}
	}
	delete(sess.results, lowest)
	sess.acked = max(sess.acked, lowest+1)
}
