package replica

import (
	"strconv"

	"github.com/chainrep/chain/wire"
)

// NodeView is what admission needs to know of a node at the moment a
// client request arrives.
type NodeView struct {
	// Halted is why the node stopped serving ("" while it serves).
	Halted string
	// Fenced is set when the node's lease (Lease.MayServe) has run out.
	Fenced bool
	// FenceCause says why, when the node knows more than that the master
	// has not answered ("" otherwise).
	FenceCause string
	Epoch      uint64
	// Superseding is the highest epoch of a configuration the node has
	// received from the master (0 when none): above Epoch, the node has
	// been told its configuration is over and has not adopted the new one
	// yet.
	Superseding uint64
	Role        wire.Role
	HeadAddr    string // where writes go in the node's configuration
	TailAddr    string // where reads go
	// CatchingUp is set while the node is a new tail catching up with its
	// predecessor.
	CatchingUp   bool
	MaxEntrySize int
	Handlers     Handlers
}

// Handlers tells which commands and queries a node has handlers for.
type Handlers interface {
	HasCommand(name string) bool
	HasQuery(name string) bool
}

// Admit is the admission rule: whether the node takes a client request, or
// the refusal the client receives. It refuses when the node has stopped or
// is fenced; when a newer configuration than the node's is pending
// (superseded-config admission: once the node has received a configuration
// with a higher epoch it admits nothing under the old one, whose tail the
// master may already have replaced, until it has adopted the new one;
// the refusal is a stale epoch naming the newer one); when the client's epoch
// differs from the node's (0 means the client does not know one); when the
// node's role does not serve the operation (with a redirect); while a new
// tail catches up (reads); and malformed or oversized input.
func Admit(v NodeView, req *wire.ClientRequest) *wire.RemoteError {
	switch {
	case v.Halted != "":
		return &wire.RemoteError{Code: wire.CodeClosed, Message: "node stopped: " + v.Halted}
	case v.Fenced && v.FenceCause != "":
		return &wire.RemoteError{Code: wire.CodeClosed, Message: "fenced: " + v.FenceCause, Epoch: v.Epoch}
	case v.Fenced:
		return &wire.RemoteError{Code: wire.CodeClosed, Message: "fenced: no contact with the master", Epoch: v.Epoch}
	case v.Superseding > v.Epoch:
		return &wire.RemoteError{Code: wire.CodeStaleEpoch, Epoch: v.Superseding,
			Message: "node adopting epoch " + strconv.FormatUint(v.Superseding, 10) + " after " + strconv.FormatUint(v.Epoch, 10)}
	case req.Epoch != 0 && req.Epoch != v.Epoch:
		return &wire.RemoteError{Code: wire.CodeStaleEpoch, Epoch: v.Epoch, Message: "client epoch differs from the node's"}
	case req.ID == 0:
		return &wire.RemoteError{Code: wire.CodeInvalidArgument, Message: "request id 0"}
	}
	switch req.Op {
	case wire.OpAppend, wire.OpCommand:
		return admitWrite(v, req)
	case wire.OpQuery, wire.OpRead, wire.OpLatest:
		return admitRead(v, req)
	}
	return &wire.RemoteError{Code: wire.CodeInvalidArgument, Message: "unknown operation"}
}

func admitWrite(v NodeView, req *wire.ClientRequest) *wire.RemoteError {
	switch {
	case !v.Role.IsHead():
		return &wire.RemoteError{Code: wire.CodeNotHead, Redirect: v.HeadAddr, Epoch: v.Epoch}
	case len(req.Data) > v.MaxEntrySize:
		return &wire.RemoteError{Code: wire.CodeTooLarge, Message: SizeMessage("entry", len(req.Data), v.MaxEntrySize)}
	case req.Op == wire.OpAppend && req.Name != "":
		return &wire.RemoteError{Code: wire.CodeInvalidArgument, Message: "a raw append names no command"}
	case req.Op == wire.OpCommand && !v.Handlers.HasCommand(req.Name):
		return &wire.RemoteError{Code: wire.CodeUnknownCommand, Message: strconv.Quote(req.Name)}
	}
	return nil
}

func admitRead(v NodeView, req *wire.ClientRequest) *wire.RemoteError {
	switch {
	case !v.Role.IsTail():
		return &wire.RemoteError{Code: wire.CodeNotTail, Redirect: v.TailAddr, Epoch: v.Epoch}
	case v.CatchingUp:
		return &wire.RemoteError{Code: wire.CodeBusy, Message: "new tail catching up with the old one"}
	case req.Op == wire.OpQuery && len(req.Data) > v.MaxEntrySize:
		return &wire.RemoteError{Code: wire.CodeTooLarge, Message: SizeMessage("query", len(req.Data), v.MaxEntrySize)}
	case req.Op == wire.OpQuery && !v.Handlers.HasQuery(req.Name):
		return &wire.RemoteError{Code: wire.CodeUnknownQuery, Message: strconv.Quote(req.Name)}
	case req.Op == wire.OpRead && (req.From == 0 || req.Max <= 0):
		return &wire.RemoteError{Code: wire.CodeInvalidArgument, Message: "read needs from >= 1 and max >= 1"}
	}
	return nil
}

// SizeMessage says that what is size bytes, over limit.
func SizeMessage(what string, size, limit int) string {
	return what + " of " + strconv.Itoa(size) + " bytes exceeds the limit of " + strconv.Itoa(limit)
}
