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
// hash into (wire.SlotOf), with their replicas placed on servers (package
// server) that host many chains over one endpoint (package
// transport/mux). Package partition is the client that routes each key to
// its chain.
//
// Package wire holds every message these pieces exchange and their codec;
// the few of its types this package's API uses (Entry, Config, Member,
// Role, RemoteError, ...) are re-exported here as aliases.
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

// headAddr returns the head's address, or "" without members.
func headAddr(c Config) string {
	if len(c.Members) == 0 {
		return ""
	}
	return c.Head().Addr
}

// tailAddr returns the tail's address, or "" without members.
func tailAddr(c Config) string {
	if len(c.Members) == 0 {
		return ""
	}
	return c.Tail().Addr
}
