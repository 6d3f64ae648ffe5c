// Package replica holds the replica node's protocol rules as small pure
// pieces: no goroutines, no I/O, no clock. Each takes what the node knows
// and returns what it must do; the node's goroutines only take a snapshot
// of their state, call the rule and act on the answer.
//
// The rules, one file each:
//
//   - commit.go: how far a node may commit (every change of a commit point
//     is decided by DecideCommit);
//   - admit.go: whether a node takes a client request;
//   - order.go: the head's ordering step (new commands, retries in flight,
//     retries already applied);
//   - sessions.go: the replicated de-duplication table;
//   - stream.go and puller.go: the two ends of the replication stream;
//   - transition.go: what a node must do when its configuration changes;
//   - lease.go: the fencing lease of a node that follows a master.
package replica
