package wire

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig: a configuration or option is unusable. Config.Validate
// wraps it; package chain re-exports it as chain.ErrInvalidConfig.
var ErrInvalidConfig = errors.New("chain: invalid configuration")

// Member is one node of a chain.
type Member struct {
	// ID names the node; it is unique within the chain.
	ID string `codec:"id"`
	// Addr is the transport address at which the node listens.
	Addr string `codec:"addr"`
}

// String returns the member as "id=addr", the form the programs' -members
// flags take; logs print members this way.
func (m Member) String() string { return m.ID + "=" + m.Addr }

// Config is a chain's configuration: its members in chain order, head first
// and tail last, stamped with an epoch that only grows.
type Config struct {
	Epoch   uint64   `codec:"epoch"`
	Members []Member `codec:"members"`
	// Joining, when set, is a node catching up behind the tail: it pulls
	// the log from the tail, is not counted toward commits and answers no
	// client. The master makes it the tail once it holds what the tail has.
	Joining *Member `codec:"joining,omitempty"`
}

// Validate reports whether the configuration can run a chain: a positive
// epoch, at least one member, and unique non-empty IDs and addresses
// (the joining node's included).
func (c Config) Validate() error {
	if c.Epoch == 0 {
		return fmt.Errorf("%w: epoch must be positive", ErrInvalidConfig)
	}
	if len(c.Members) == 0 {
		return fmt.Errorf("%w: no members", ErrInvalidConfig)
	}
	ids := make(map[string]bool, len(c.Members))
	addrs := make(map[string]bool, len(c.Members))
	all := c.Members
	if c.Joining != nil {
		all = append(append([]Member(nil), c.Members...), *c.Joining)
	}
	for i, m := range all {
		if m.ID == "" || m.Addr == "" {
			return fmt.Errorf("%w: member %d has an empty id or address", ErrInvalidConfig, i)
		}
		if ids[m.ID] {
			return fmt.Errorf("%w: member id %q appears twice", ErrInvalidConfig, m.ID)
		}
		if addrs[m.Addr] {
			return fmt.Errorf("%w: member address %q appears twice", ErrInvalidConfig, m.Addr)
		}
		ids[m.ID], addrs[m.Addr] = true, true
	}
	return nil
}

// Head returns the first member. The configuration must be valid.
func (c Config) Head() Member { return c.Members[0] }

// Tail returns the last member. The configuration must be valid.
func (c Config) Tail() Member { return c.Members[len(c.Members)-1] }

// IndexOf returns the position in Members of the member with the given
// id, or -1 (the joining node is not in Members).
func (c Config) IndexOf(id string) int {
	for i, m := range c.Members {
		if m.ID == id {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy of the configuration.
func (c Config) Clone() Config {
	c.Members = append([]Member(nil), c.Members...)
	if c.Joining != nil {
		j := *c.Joining
		c.Joining = &j
	}
	return c
}

// Role is a node's place in its chain.
type Role int

// The roles a node can have. A chain of one member is RoleHeadTail.
const (
	RoleNone Role = iota // not a member of the configuration
	RoleHead
	RoleMiddle
	RoleTail
	RoleHeadTail
	RoleJoining // catching up behind the tail; not yet a member
)

func (r Role) String() string {
	switch r {
	case RoleHead:
		return "head"
	case RoleMiddle:
		return "middle"
	case RoleTail:
		return "tail"
	case RoleHeadTail:
		return "head+tail"
	case RoleJoining:
		return "joining"
	default:
		return "none"
	}
}

// IsHead reports whether the role orders client commands.
func (r Role) IsHead() bool { return r == RoleHead || r == RoleHeadTail }

// IsTail reports whether the role commits entries and answers reads.
func (r Role) IsTail() bool { return r == RoleTail || r == RoleHeadTail }

// IsMember reports whether the role is one of a member of the chain:
// head, middle or tail (not joining, not none).
func (r Role) IsMember() bool { return r != RoleNone && r != RoleJoining }

// Role returns the role of the node id in the configuration: RoleJoining
// for the joining node, RoleNone if it is not a member.
func (c Config) Role(id string) Role {
	i := c.IndexOf(id)
	switch {
	case c.Joining != nil && c.Joining.ID == id:
		return RoleJoining
	case i < 0:
		return RoleNone
	case len(c.Members) == 1:
		return RoleHeadTail
	case i == 0:
		return RoleHead
	case i == len(c.Members)-1:
		return RoleTail
	default:
		return RoleMiddle
	}
}
