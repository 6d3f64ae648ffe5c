package chain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/chainrep/chain/wire"
)

// Sentinel errors. Check them with errors.Is: errors that cross the network
// arrive as *RemoteError values, which match the sentinel of their code.
// The sentinels of the conditions a reply reports are the wire's error
// codes themselves (ErrNotHead is wire.CodeNotHead, and so on), so a code
// and its sentinel cannot drift apart.
var (
	// ErrClosed: the node or client was closed, or the node stopped serving.
	ErrClosed error = wire.CodeClosed
	// ErrNotHead: a write reached a node that is not the head of its chain.
	ErrNotHead error = wire.CodeNotHead
	// ErrNotTail: a query or read reached a node that is not the tail.
	ErrNotTail error = wire.CodeNotTail
	// ErrStaleEpoch: the sender's configuration epoch is older than the node's.
	ErrStaleEpoch error = wire.CodeStaleEpoch
	// ErrUnknownCommand: no handler is registered for the command name.
	ErrUnknownCommand error = wire.CodeUnknownCommand
	// ErrUnknownQuery: no query handler is registered for the query name.
	ErrUnknownQuery error = wire.CodeUnknownQuery
	// ErrTooLarge: an entry or query exceeds the configured maximum size.
	ErrTooLarge error = wire.CodeTooLarge
	// ErrBusy: the head's queue or bytes-in-flight limit is full; retry later.
	// Clients retry it on their own with backoff.
	ErrBusy error = wire.CodeBusy
	// ErrCommandFailed: a command or query handler returned an error; the
	// *RemoteError carries its message.
	ErrCommandFailed error = wire.CodeCommandFailed
	// ErrResultExpired: a command arrived below its client's acknowledged
	// mark: the client had said it received the command's result (or gave
	// up on it), so the node no longer holds it. The command was not applied
	// by this request.
	ErrResultExpired error = wire.CodeResultExpired
	// ErrSessionExpired: the command's de-duplication session is gone (it
	// was idle past the expiry while the table was full, or closed), so the
	// chain cannot tell a retry from a new command; the command was not
	// applied by this request, but an earlier copy may have been. The
	// client registers a new session for its next write.
	ErrSessionExpired error = wire.CodeSessionExpired
	// ErrTooManySessions: a client could not register a de-duplication
	// session: the table is full of sessions in use (WithMaxSessions).
	ErrTooManySessions error = wire.CodeTooManySessions
	// ErrInvalidConfig: a configuration or option is unusable.
	ErrInvalidConfig = wire.ErrInvalidConfig
	// ErrInvalidArgument: a call received bad input.
	ErrInvalidArgument error = wire.CodeInvalidArgument
	// ErrStarted: the call is only allowed before Start.
	ErrStarted = errors.New("chain: already started")
	// ErrNotStarted: the call is only allowed after Start.
	ErrNotStarted = errors.New("chain: not started")
	// ErrOutOfRange: the requested offsets are not held (truncated or beyond
	// the end of the log).
	ErrOutOfRange error = wire.CodeOutOfRange
	// ErrNotDense: an append would leave a gap or overwrite an entry.
	ErrNotDense = errors.New("chain: offsets not dense")
	// ErrCorrupt: stored data failed its checksum or could not be decoded;
	// it is never returned as data.
	ErrCorrupt = errors.New("chain: corrupt data")
	// ErrNoSnapshot: the storage holds no committed snapshot.
	ErrNoSnapshot = errors.New("chain: no snapshot")
	// ErrStaleSnapshot: a snapshot was not above the newest committed one's
	// offset, so it would not replace it.
	ErrStaleSnapshot = errors.New("chain: snapshot not newer than the newest")
	// ErrSnapshotInProgress: another snapshot is being written to the
	// storage.
	ErrSnapshotInProgress = errors.New("chain: snapshot in progress")
)

// remoteError converts err into the error carried in a reply, keeping the
// code of the sentinel it wraps.
func remoteError(err error) *RemoteError {
	if err == nil {
		return nil
	}
	var re *RemoteError
	if errors.As(err, &re) {
		return re
	}
	var code wire.Code
	if errors.As(err, &code) {
		msg := strings.TrimPrefix(err.Error(), code.Error())
		return &RemoteError{Code: code, Message: strings.TrimPrefix(msg, ": ")}
	}
	return &RemoteError{Code: wire.CodeInternal, Message: err.Error()}
}

// wrapf wraps a sentinel with a formatted detail.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
