package wire

import "strconv"

// Code identifies an error carried in a reply. A Code is itself an error,
// as syscall.Errno is: package chain's sentinel errors for the conditions
// a node reports (chain.ErrNotHead, chain.ErrBusy, ...) are these values,
// so a *RemoteError, or any error wrapping a Code, matches them with
// errors.Is. The values are part of the wire format.
type Code uint8

// The codes a node puts in a reply.
const (
	CodeOK Code = iota
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
	CodeSessionExpired
	CodeTooManySessions
)

// sentinelText returns the text of the error a code stands for, and false
// for the codes that stand for no sentinel error (CodeOK, CodeInternal and
// codes unknown to this release).
func (c Code) sentinelText() (string, bool) {
	switch c {
	case CodeClosed:
		return "chain: closed", true
	case CodeNotHead:
		return "chain: not the head", true
	case CodeNotTail:
		return "chain: not the tail", true
	case CodeStaleEpoch:
		return "chain: stale epoch", true
	case CodeUnknownCommand:
		return "chain: unknown command", true
	case CodeUnknownQuery:
		return "chain: unknown query", true
	case CodeTooLarge:
		return "chain: too large", true
	case CodeBusy:
		return "chain: busy", true
	case CodeCommandFailed:
		return "chain: handler failed", true
	case CodeResultExpired:
		return "chain: result expired", true
	case CodeInvalidArgument:
		return "chain: invalid argument", true
	case CodeOutOfRange:
		return "chain: offset out of range", true
	case CodeSessionExpired:
		return "chain: session expired", true
	case CodeTooManySessions:
		return "chain: too many sessions", true
	default:
		return "", false
	}
}

// Error returns the text of the error the code stands for ("chain: not the
// head", ...).
func (c Code) Error() string {
	if text, ok := c.sentinelText(); ok {
		return text
	}
	switch c {
	case CodeOK:
		return "chain: ok"
	case CodeInternal:
		return "chain: internal error"
	default:
		return "chain: error code " + strconv.Itoa(int(c))
	}
}

// RemoteError is an error returned by a node. It matches, with errors.Is,
// the sentinel error of its code (the Code value itself).
type RemoteError struct {
	Code Code `codec:"c"`
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
	s, ok := e.Code.sentinelText()
	if !ok {
		s = "chain: remote error"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Redirect != "" {
		s += " (try " + e.Redirect + ")"
	}
	return s
}

// Is reports whether target is the sentinel error of e's code: the Code
// e carries, when it stands for one.
func (e *RemoteError) Is(target error) bool {
	if e == nil {
		return false
	}
	code, ok := target.(Code)
	if !ok || code != e.Code {
		return false
	}
	_, sentinel := code.sentinelText()
	return sentinel
}
