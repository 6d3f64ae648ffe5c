package chain

import "github.com/chainrep/chain/wire"

// The types of package wire that this package's API mentions, re-exported
// so that a user of chain needs no other import. They are aliases: a
// chain.Entry is a wire.Entry. Every other message type, and the codec,
// live in package wire only.

// Entry is one record of the replicated log.
type Entry = wire.Entry

// Config is a chain's configuration: its members in chain order, head
// first and tail last, stamped with an epoch that only grows.
type Config = wire.Config

// Member is one node of a chain.
type Member = wire.Member

// Role is a node's place in its chain.
type Role = wire.Role

// The roles a node can have. A chain of one member is RoleHeadTail.
const (
	// RoleNone: not a member of the configuration.
	RoleNone = wire.RoleNone
	// RoleHead: the first member, which orders client commands.
	RoleHead = wire.RoleHead
	// RoleMiddle: a member between the head and the tail.
	RoleMiddle = wire.RoleMiddle
	// RoleTail: the last member, which commits and answers reads.
	RoleTail = wire.RoleTail
	// RoleHeadTail: the only member of a chain of one.
	RoleHeadTail = wire.RoleHeadTail
	// RoleJoining: catching up behind the tail; not yet a member.
	RoleJoining = wire.RoleJoining
)

// NodeStatus is what a node reports about itself (Client.Status).
type NodeStatus = wire.NodeStatus

// RemoteError is an error returned by a node. It matches, with errors.Is,
// the sentinel error of its code (ErrNotHead, ErrBusy, ...).
type RemoteError = wire.RemoteError

// ErrorCode identifies an error carried in a reply: RemoteError.Code. The
// sentinel errors of the conditions a node reports are its values.
type ErrorCode = wire.Code

// Message is a message a Transport carries: one of the types of package
// wire. A transport passes messages through and encodes them with
// wire.EncodeMessage when they leave the process.
type Message = wire.Message
