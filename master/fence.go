package master

import (
	"time"

	"github.com/chainrep/chain"
)

// fenceAfter is the length of the lease the master's replies give a node
// (wire.ConfigUpdate.FenceAfter) under failure timeout T: F = T/2.
//
// The fencing inequality. A node n sends a heartbeat at instant s; the
// leader records it at a >= s (state.heartbeat sets n's lastSeen to a)
// and, vouching for n (state.vouches), echoes s in its reply; on that
// reply n serves until s + F at the latest (replica.Lease runs from the
// echoed send instant, never from the reply's arrival). The leader names
// a replacement for n only at a tick r at which n has been silent for
// more than T (state.alive: r - lastSeen > T), so r > a + T >= s + T, and
// the old node has stopped serving when its replacement is named as long
// as
//
//	F < T.
//
// F = T/2 leaves the margin for the node's clock to run slow against the
// master's (down to half speed). A heartbeat the leader takes after it
// has decided to remove n, while the change waits for its raft commit,
// would break r > a: the reply to it vouches for nothing. A newly elected
// leader gives every node a full T from when it starts leading
// (newCluster), and the old leader stops vouching when raft deposes it
// (Master.leadingNow).
//
// Not covered: a member removed on purpose (Master.RemoveNodeFrom, a
// rebalancing move) is taken out at once, while the lease a reply gave
// it may still run for up to F.
func fenceAfter(failureTimeout time.Duration) time.Duration { return failureTimeout / 2 }

// vouches reports whether the leader's reply to a heartbeat from node id
// may vouch for it (echo the heartbeat's send instant, renewing its
// lease): id is a member or the joining node of the chain's working
// configuration, so the leader has not decided to replace it, and any
// replacement comes at least a failure timeout after this heartbeat (see
// fenceAfter). It must be called with the heartbeat recorded, in the same
// critical section.
func (s *state) vouches(id string) bool {
	return s.cfg.Role(id) != chain.RoleNone
}
