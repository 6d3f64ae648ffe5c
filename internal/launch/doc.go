// Package launch starts the pieces of a deployment in this process, each
// running the key-value store of package kv, for the programs
// (cmd/chaind, cmd/benchit), the example (examples/kv) and their tests:
//
//   - StartNode: one node, on memory or Pebble storage;
//   - StartServer: one server of a partitioned deployment;
//   - StartChain: a whole chain of nodes on one transport (a new in-memory
//     network unless given one), with its master if asked for, and a
//     client;
//   - StartPartitioned: a master of many chains and the servers that host
//     them;
//   - LocalMembers and FreeLocalMembers: members on loopback addresses for
//     local runs.
//
// Masters are started with master.Start itself. The library's test
// harness, package chaintest, starts its chains on its own: it needs what
// no program does (storage that outlives a killed node, an apply observer
// per incarnation for its invariant checks, seeded faults, masters on
// raft's in-memory transport that it can cut off), and it stays free of
// the Pebble storage and the key-value store this package brings in.
package launch
