// Package kv is the key-value store of this module, built on package
// chain's custom commands (chain.Node.Handle) and queries
// (chain.Node.HandleQuery), with an HTTP API. The programs (cmd/chaind,
// cmd/chainctl, cmd/benchit) run it on every node, and applications may
// use it as it is or as a model for their own state machines.
//
// The pieces:
//
//   - Store is the replicated state machine: a map from string keys to byte
//     values. Every node of a chain registers its own Store (Register,
//     before the node starts) and applies the same committed commands to
//     it in the same order, so every Store holds the same data once it has
//     applied the same prefix of the log.
//   - Client is the typed client: NewClient sends through one chain's
//     *chain.Client, NewPartitionedClient through a *partition.Client that
//     routes each key to the chain of its slot (the servers then register
//     a Store on every replica).
//   - NewHTTPHandler serves GET, PUT, DELETE and compare-and-set of
//     /kv/{key} over a Client.
//
// Contracts:
//
//   - Writes (put, delete, compare-and-set) are chain commands: each is
//     applied exactly once, in log order, on every node, and a retried
//     write gets the first result back. A compare-and-set compares and
//     writes in one atomic step.
//   - Reads (get, len) are chain queries answered by the tail, so a get is
//     linearizable with the writes of its key. Len over many chains adds
//     up counts read at different moments.
//   - Keys are 1 to MaxKeyLen bytes; a Client refuses any other key
//     locally with an error wrapping chain.ErrInvalidArgument. Values are
//     any bytes; a nil value is stored as an empty one. Store copies values
//     in and out and never shares memory with its callers.
//   - Errors wrap the chain client's (check them with errors.Is against
//     chain's sentinels and the context errors). A payload that does not
//     decode leaves the Store unchanged and reaches the client as an error
//     wrapping chain.ErrCommandFailed; decoders return errors wrapping
//     ErrMalformed and never panic.
//   - The command and query names (CmdPut, ..., QueryLen) and the binary
//     encoding of their payloads and results (codec.go) are written into
//     the replicated log: a node that replays a log written earlier must
//     decode it, so they change only compatibly.
//   - A Store lives in memory. A node restarted on durable storage rebuilds
//     it by replaying its log.
package kv
