package chain

import (
	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

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

// sessionTable is the node's replicated de-duplication table (its rules
// are replica.Sessions').
type sessionTable = replica.Sessions[outcome]

func newSessionTable(maxClients int) *sessionTable {
	return replica.NewSessions[outcome](maxClients, maxResultsPerSession)
}

// entryCommand returns the command identity of an entry.
func entryCommand(e *Entry) replica.CommandID {
	return replica.CommandID{Client: replica.ClientID{Addr: e.Client, Session: e.Session}, Seq: e.Seq}
}

// knownOutcome turns the table's verdict on a command at offset into the
// outcome a retry receives; ok is false when the command is new.
func knownOutcome(out outcome, v replica.Verdict, offset uint64) (outcome, bool) {
	switch v {
	case replica.Duplicate:
		return out, true
	case replica.Expired:
		return outcome{offset: offset, err: &RemoteError{Code: wire.CodeResultExpired,
			Message: "command was acknowledged before; its result is no longer kept"}}, true
	}
	return outcome{}, false
}
