// Package chain replicates an ordered log across a chain of nodes with chain
// replication (van Renesse and Schneider, OSDI 2004) and drives the
// application's deterministic state machines from it.
//
// # How the pieces fit
//
// A chain is an ordered list of members stamped with an epoch (a [Config]).
// The first member is the head, the last is the tail; a chain of one is both.
// A [Client] sends commands to the head. The head gives each command the next
// dense offset and appends it to its [Log]; every other member pulls new
// entries from its predecessor, appends them in order and serves them to its
// own successor. An entry is committed once the tail holds it: the tail
// applies it to the registered handlers and replies to the client, and the
// commit point flows back up the chain. Every member applies committed entries
// in offset order, so every member's state is a committed prefix of the log.
//
// Handlers are registered on a [Node] before it starts: [Node.Handle] for
// commands (which change state and return a result to the client) and
// [Node.HandleQuery] for queries (which read the tail's state). A command
// carries the client's identity and a sequence number; the node keeps, as
// part of the replicated state, the result of each recent command, so a
// retried command is applied once and the retry receives the first result.
//
// Nodes and clients talk through a [Transport]; package transport/inmem is an
// in-memory one with fault injection for tests. Entries are kept by a
// [Storage]; package storage/memory keeps them in memory. Package chaintest
// starts whole chains on the in-memory transport in a few lines, injects
// faults and checks recorded histories for linearizability.
//
// Package master reconfigures chains when nodes fail or join; one master
// group can manage many chains, each serving a range of the slots keys
// hash into ([SlotOf]), with their replicas placed on servers (package
// server) that host many chains over one endpoint (package
// transport/mux). Package partition is the client that routes each key to
// its chain.
//
// # Example
//
//	net := inmem.New(inmem.Options{})
//	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
//	node, _ := chain.NewNode("n1", chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
//	_ = node.Handle("upper", func(ctx context.Context, e chain.Entry) ([]byte, error) {
//		return bytes.ToUpper(e.Data), nil
//	})
//	_ = node.Start(ctx)
//	defer node.Close()
//
//	client, _ := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
//	defer client.Close()
//	out, _ := client.Do(ctx, "upper", []byte("hello")) // "HELLO", applied exactly once
package chain

import "fmt"

// Entry is one record of the replicated log.
type Entry struct {
	// Offset is the entry's position in the log. Offsets are dense and start at 1.
	Offset uint64 `codec:"o"`
	// Epoch is the configuration epoch in which the head ordered the entry.
	Epoch uint64 `codec:"e"`
	// Client is the address of the client that submitted the entry; the tail
	// sends the reply there. Empty for entries written by no client.
	Client string `codec:"c,omitempty"`
	// Session is a random number the client drew when it was created. With
	// Client it identifies the client for de-duplication, so a client that
	// reuses an address (after a restart, say) never meets the records of
	// an earlier one.
	Session uint64 `codec:"ss,omitempty"`
	// Seq is the client's sequence number for the command; with Client and
	// Session it identifies the command for de-duplication.
	Seq uint64 `codec:"s,omitempty"`
	// Acked is the client's low-water mark when it sent the command: every
	// command of that client with a lower Seq has been answered, so nodes may
	// forget those results.
	Acked uint64 `codec:"a,omitempty"`
	// Command names the handler that applies the entry; empty for a raw
	// append, which is a plain log entry with no handler.
	Command string `codec:"k,omitempty"`
	// Data is the command's payload or the raw appended bytes.
	Data []byte `codec:"d,omitempty"`
}

// Size is the number of bytes the entry counts for in batch and flow-control
// limits: its payload, names and a fixed overhead for the numeric fields.
func (e *Entry) Size() int {
	return len(e.Data) + len(e.Command) + len(e.Client) + entryOverhead
}

// entryOverhead approximates the encoded size of an entry's numeric fields.
const entryOverhead = 32

// Member is one node of a chain.
type Member struct {
	// ID names the node; it is unique within the chain.
	ID string `codec:"id"`
	// Addr is the transport address at which the node listens.
	Addr string `codec:"addr"`
}

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

// headAddr returns the head's address, or "" without members.
func (c Config) headAddr() string {
	if len(c.Members) == 0 {
		return ""
	}
	return c.Head().Addr
}

// tailAddr returns the tail's address, or "" without members.
func (c Config) tailAddr() string {
	if len(c.Members) == 0 {
		return ""
	}
	return c.Tail().Addr
}

// indexOf returns the position of the member with the given id, or -1.
func (c Config) indexOf(id string) int {
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

// isJoining reports whether id is the joining node.
func (c Config) isJoining(id string) bool { return c.Joining != nil && c.Joining.ID == id }

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

// Role returns the role of the member id in the configuration (RoleNone if
// it is not a member).
func (c Config) Role(id string) Role { return roleOf(c, id) }

// roleOf returns the role of the member id in cfg.
func roleOf(cfg Config, id string) Role {
	i := cfg.indexOf(id)
	switch {
	case cfg.isJoining(id):
		return RoleJoining
	case i < 0:
		return RoleNone
	case len(cfg.Members) == 1:
		return RoleHeadTail
	case i == 0:
		return RoleHead
	case i == len(cfg.Members)-1:
		return RoleTail
	default:
		return RoleMiddle
	}
}
