package faultsuite

// Report is what the load program writes when its run ends (report.json
// in its output directory): the verdicts of its checks and the writes
// the host checks against the members' logs.
type Report struct {
	// KVOps and LogOps count the operations recorded in each history.
	KVOps, LogOps int
	// KVCheck and LogCheck are "ok" for a linearizable history, or what
	// porcupine found (the visualization's path in the output directory).
	KVCheck, LogCheck string
	// Appends are the raw appends: payload, and offset when acknowledged.
	Appends []Write
	// KVWrites are the key-value writes (puts and compare-and-sets) by
	// the value they write; an acknowledged one has Acked set (kv's
	// client returns no offset).
	KVWrites []Write
	// ServingAfterMS is how long after the faults were healed the first
	// write succeeded; -1 if none did within the bound.
	ServingAfterMS int64
	// Final says why the final reads failed ("" when they succeeded).
	Final string
	// Members are the final configuration's node ids, head first, and
	// Epoch its epoch; Commit is the highest commit point they report.
	Members []string
	Epoch   uint64
	Commit  uint64
	// Errors counts the operations' errors by message, for the log.
	Errors map[string]int
}

// Write is one write of a Report.
type Write struct {
	Data   string
	Offset uint64 `json:",omitempty"` // the acknowledged offset of a raw append
	Acked  bool
}

// View is the cluster as the load program last saw it (view.json in its
// output directory), for the schedule to aim its faults: the chain's
// members head first and the address of the master that leads.
type View struct {
	Epoch   uint64
	Members []string
	Leader  string
}
