package chain

import (
	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// maxResultsPerSession is a session's window: how far above its client's
// acknowledged mark a command may be. A session keeps the result of every
// command in its window; a command beyond it waits (ErrBusy, retried)
// until the mark advances. The client's lowest waiting command carries
// the mark equal to its own number, so it is always in the window; a
// client's requests in flight are at most this many (validated).
const maxResultsPerSession = 4 * DefaultMaxInflight

// outcome is what applying an entry produced; it is what a retry of the
// same command receives.
type outcome struct {
	offset uint64
	result []byte
	err    *RemoteError
}

// sessionTable is the node's replicated de-duplication table (its rules
// are replica.Sessions').
type sessionTable = replica.Sessions[outcome]

// newSessionTable returns the table of a node with options o. Its bounds
// must be the same on every node of a chain.
func newSessionTable(o *options) *sessionTable {
	return replica.NewSessions[outcome](replica.Limits{Window: maxResultsPerSession,
		MaxSessions: o.maxSessions, Expiry: int64(o.sessionExpiry)})
}

// entryCommand returns the command identity of an entry.
func entryCommand(e *Entry) replica.CommandID {
	return replica.CommandID{Client: replica.ClientID{Addr: e.Client, Session: e.Session}, Seq: e.Seq}
}

// entryWrite returns what the table's step needs of an entry.
func entryWrite(e *Entry) replica.Write {
	return replica.Write{Acked: e.Acked, Since: e.Since, Time: e.Time}
}

// knownOutcome turns the table's verdict on a command at offset into the
// outcome a retry receives; ok is false when the command is new.
func knownOutcome(out outcome, v replica.Verdict, offset uint64) (outcome, bool) {
	refused := func(code wire.Code, msg string) (outcome, bool) {
		return outcome{offset: offset, err: &RemoteError{Code: code, Message: msg}}, true
	}
	switch v {
	case replica.Duplicate:
		return out, true
	case replica.Expired:
		return refused(wire.CodeResultExpired, "command is below the client's acknowledged mark; its result is no longer kept")
	case replica.NoSession:
		return refused(wire.CodeSessionExpired, "the command's session was forgotten; not applied")
	case replica.Beyond:
		return refused(wire.CodeBusy, "too many of the client's commands above its acknowledged mark; not applied")
	case replica.Full:
		return refused(wire.CodeTooManySessions, "every session is in use; not applied")
	}
	return outcome{}, false
}
