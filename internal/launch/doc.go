// Package launch starts the pieces of a deployment in this process, for
// the programs (cmd/chaind, cmd/benchit), the key-value example
// (examples/kv) and their tests: a node that runs the key-value store of
// package kv (StartNode), a server whose replicas run it (StartServer), a
// whole chain of such nodes with a client (Start, StartIn), and members on
// loopback addresses for local runs (LocalMembers, FreeLocalMembers).
// Each node keeps its log in memory or on Pebble under a data directory.
package launch
