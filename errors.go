package chain

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Check them with errors.Is: errors that cross the network
// arrive as *RemoteError values, which match the sentinel of their code.
var (
	// ErrClosed: the node or client was closed, or the node stopped serving.
	ErrClosed = errors.New("chain: closed")
	// ErrNotHead: a write reached a node that is not the head of its chain.
	ErrNotHead = errors.New("chain: not the head")
	// ErrNotTail: a query or read reached a node that is not the tail.
	ErrNotTail = errors.New("chain: not the tail")
	// ErrStaleEpoch: the sender's configuration epoch is older than the node's.
	ErrStaleEpoch = errors.New("chain: stale epoch")
	// ErrUnknownCommand: no handler is registered for the command name.
	ErrUnknownCommand = errors.New("chain: unknown command")
	// ErrUnknownQuery: no query handler is registered for the query name.
	ErrUnknownQuery = errors.New("chain: unknown query")
	// ErrTooLarge: an entry or query exceeds the configured maximum size.
	ErrTooLarge = errors.New("chain: too large")
	// ErrBusy: the head's queue or bytes-in-flight limit is full; retry later.
	// Clients retry it on their own with backoff.
	ErrBusy = errors.New("chain: busy")
	// ErrCommandFailed: a command or query handler returned an error; the
	// *RemoteError carries its message.
	ErrCommandFailed = errors.New("chain: handler failed")
	// ErrResultExpired: a command was retried after the client had already
	// acknowledged it, so the node no longer holds its result. The command was
	// not applied again.
	ErrResultExpired = errors.New("chain: result expired")
	// ErrInvalidConfig: a configuration or option is unusable.
	ErrInvalidConfig = errors.New("chain: invalid configuration")
	// ErrInvalidArgument: a call received bad input.
	ErrInvalidArgument = errors.New("chain: invalid argument")
	// ErrStarted: the call is only allowed before Start.
	ErrStarted = errors.New("chain: already started")
	// ErrNotStarted: the call is only allowed after Start.
	ErrNotStarted = errors.New("chain: not started")
	// ErrOutOfRange: the requested offsets are not held (truncated or beyond
	// the end of the log).
	ErrOutOfRange = errors.New("chain: offset out of range")
	// ErrNotDense: an append would leave a gap or overwrite an entry.
	ErrNotDense = errors.New("chain: offsets not dense")
)

// ErrorCode identifies an error carried in a reply.
type ErrorCode uint8

// The codes a node puts in a reply.
const (
	CodeOK ErrorCode = iota
	CodeClosed
	CodeNotHead
	CodeNotTail
	CodeStaleEpoch
	CodeUnknownCommand
	CodeUnknownQuery
	CodeTooLarge
	CodeBusy
	CodeCommandFailed
	CodeResultExpired
	CodeInvalidArgument
	CodeOutOfRange
	CodeInternal
)

var codeSentinels = map[ErrorCode]error{
	CodeClosed:          ErrClosed,
	CodeNotHead:         ErrNotHead,
	CodeNotTail:         ErrNotTail,
	CodeStaleEpoch:      ErrStaleEpoch,
	CodeUnknownCommand:  ErrUnknownCommand,
	CodeUnknownQuery:    ErrUnknownQuery,
	CodeTooLarge:        ErrTooLarge,
	CodeBusy:            ErrBusy,
	CodeCommandFailed:   ErrCommandFailed,
	CodeResultExpired:   ErrResultExpired,
	CodeInvalidArgument: ErrInvalidArgument,
	CodeOutOfRange:      ErrOutOfRange,
}

// RemoteError is an error returned by a node. It matches, with errors.Is,
// the sentinel error of its code.
type RemoteError struct {
	Code ErrorCode `codec:"c"`
	// Message says what went wrong; for CodeCommandFailed it is the
	// handler's error text.
	Message string `codec:"m,omitempty"`
	// Redirect is the address of the node to ask instead, for CodeNotHead
	// and CodeNotTail, when the refusing node knows it.
	Redirect string `codec:"r,omitempty"`
	// Epoch is the refusing node's configuration epoch.
	Epoch uint64 `codec:"e,omitempty"`
}

func (e *RemoteError) Error() string {
	s := "chain: remote error"
	if sentinel, ok := codeSentinels[e.Code]; ok {
		s = sentinel.Error()
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Redirect != "" {
		s += " (try " + e.Redirect + ")"
	}
	return s
}

// Is reports whether target is the sentinel error of e's code.
func (e *RemoteError) Is(target error) bool {
	if e == nil {
		return false
	}
	sentinel, ok := codeSentinels[e.Code]
	return ok && sentinel == target
}

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
	for code, sentinel := range codeSentinels {
		if errors.Is(err, sentinel) {
			msg := strings.TrimPrefix(err.Error(), sentinel.Error())
			return &RemoteError{Code: code, Message: strings.TrimPrefix(msg, ": ")}
		}
	}
	return &RemoteError{Code: CodeInternal, Message: err.Error()}
}

// wrapf wraps a sentinel with a formatted detail.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
