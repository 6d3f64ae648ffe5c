package master

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain"
)

// heard tells how long ago a node was last heard from (ok false for a
// node the master never heard from) and whether it still counts as alive.
type heard func(id string) (ago time.Duration, ok, alive bool)

// reconfigCause says in one line, for the master's log, what changed from
// the chain's configuration old (existed false for a new chain) to next,
// and why: each node that left, as failed (with how long it had been
// silent) or removed while alive; the node that began to join; the
// joining node that became the tail.
func reconfigCause(old chain.Config, existed bool, next chain.Config, h heard) string {
	if !existed {
		return "created with " + joinIDs(next.Members)
	}
	var parts []string
	nextIDs := configuredIDs(next)
	for _, id := range configuredIDs(old) {
		if slices.Contains(nextIDs, id) {
			continue
		}
		ago, ok, alive := h(id)
		switch {
		case alive:
			parts = append(parts, id+" removed while alive (by an admin, for entries it lost, a move, or a cut link)")
		case !ok:
			parts = append(parts, id+" failed: never heard from")
		default:
			parts = append(parts, fmt.Sprintf("%s failed: no heartbeat for %v", id, ago.Round(time.Millisecond)))
		}
	}
	if j := old.Joining; j != nil && next.Role(j.ID).IsTail() {
		parts = append(parts, j.ID+" caught up and became the tail")
	}
	if j := next.Joining; j != nil && (old.Joining == nil || old.Joining.ID != j.ID) {
		parts = append(parts, fmt.Sprintf("%s began to join behind the tail %s", j.ID, next.Tail().ID))
	}
	if len(parts) == 0 {
		return "same nodes, new epoch"
	}
	return strings.Join(parts, "; ")
}

// joinIDs lists the members' ids, head first.
func joinIDs(members []chain.Member) string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	return strings.Join(ids, ", ")
}
