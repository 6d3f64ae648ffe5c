package master

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain"
)

// heard tells how long ago a node was last heard from (ok false for a
// node the master never heard from) and whether it still counts as alive.
type heard func(id string) (ago time.Duration, ok, alive bool)

// explainReconfig tells why a chain went from configuration old (existed
// false for a new chain) to next, in two forms from one pass.
//
// The reason is a metric label: a node that left and was not alive
// failed; one that left alive was removed; otherwise a join started or
// completed. A failure outranks a removal, and a removal a join.
//
// The cause is one line for the master's log: each node that left, as
// failed (with how long it had been silent) or removed while alive; the
// joining node that became the tail; the node that began to join; the
// node that took over a chain whose every member had lost entries (see
// lastcopy.go).
func explainReconfig(old chain.Config, existed bool, next chain.Config, h heard) (reason, cause string) {
	if !existed {
		return reasonCreated, "created with " + joinIDs(next.Members)
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
			if reason == "" {
				reason = reasonNodeRemoved
			}
			parts = append(parts, id+" removed while alive (by an admin, for entries it lost, a move, or a cut link)")
		case !ok:
			reason = reasonNodeFailed
			parts = append(parts, id+" failed: never heard from")
		default:
			reason = reasonNodeFailed
			parts = append(parts, fmt.Sprintf("%s failed: no heartbeat for %v", id, ago.Round(time.Millisecond)))
		}
	}
	const tookOver = " took over as the sole member: every member had lost entries, and it holds the most of the log"
	oldIDs := configuredIDs(old)
	for _, m := range next.Members {
		if !slices.Contains(oldIDs, m.ID) {
			parts = append(parts, m.ID+tookOver)
		}
	}
	if j := old.Joining; j != nil && next.Role(j.ID).IsTail() {
		reason = cmp.Or(reason, reasonJoinCompleted)
		if next.Role(j.ID).IsHead() {
			parts = append(parts, j.ID+tookOver)
		} else {
			parts = append(parts, j.ID+" caught up and became the tail")
		}
	}
	if j := next.Joining; j != nil && (old.Joining == nil || old.Joining.ID != j.ID) {
		reason = cmp.Or(reason, reasonJoinStarted)
		parts = append(parts, fmt.Sprintf("%s began to join behind the tail %s", j.ID, next.Tail().ID))
	}
	if len(parts) == 0 {
		return reasonOther, "same nodes, new epoch"
	}
	return reason, strings.Join(parts, "; ")
}

// configuredIDs returns the ids of cfg's members and joining node.
func configuredIDs(cfg chain.Config) []string {
	ids := make([]string, 0, len(cfg.Members)+1)
	for _, m := range cfg.Members {
		ids = append(ids, m.ID)
	}
	if cfg.Joining != nil {
		ids = append(ids, cfg.Joining.ID)
	}
	return ids
}

// joinIDs lists the members' ids, head first.
func joinIDs(members []chain.Member) string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	return strings.Join(ids, ", ")
}
