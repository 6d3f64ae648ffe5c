package wire

import "time"

// LinkHealth is what a node reports of its replication links at the epoch
// it runs (Heartbeat.Links, NodeStatus.Links). Every duration is read on
// the node's own monotonic clock as an age ("so long ago", at the moment
// the node sent the report), never as an instant: a master compares ages
// only with its own failure timeout, never with its clock.
//
// A link's age counts from the later of the last message the node took
// on it and the moment the node adopted the configuration of its epoch,
// so a new link gets a fresh start.
type LinkHealth struct {
	// FromPred is how long ago the node last took a pull response from
	// its predecessor (entries, an empty keep-alive or a refusal): 0 at
	// the head, which has none.
	FromPred time.Duration `codec:"fp,omitempty"`
	// FromSucc is how long ago the node last heard from its successor (a
	// pull, which acknowledges what it holds, or a commit notice): 0 at
	// the tail with no joining node, which has none.
	FromSucc time.Duration `codec:"fs,omitempty"`
	// SuccBehind is how many entries the node holds beyond what its
	// successor has acknowledged.
	SuccBehind uint64 `codec:"sb,omitempty"`
	// Cut reports that the link from the node's predecessor carried
	// nothing for ConfigUpdate.LinkTimeout at this epoch: the node has
	// stopped serving, and stays stopped until it runs a later
	// configuration; the master takes the node out of the chain (see
	// package master, the link rule).
	Cut bool `codec:"cut,omitempty"`
}
