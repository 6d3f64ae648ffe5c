package master

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func TestExplainReconfig(t *testing.T) {
	m := func(ids ...string) []chain.Member {
		var ms []chain.Member
		for _, id := range ids {
			ms = append(ms, chain.Member{ID: id, Addr: id})
		}
		return ms
	}
	joining := func(id string) *chain.Member { return &chain.Member{ID: id, Addr: id} }
	abc := chain.Config{Epoch: 1, Members: m("a", "b", "c")}
	const removedAlive = " removed while alive (by an admin, for entries it lost, a move, or a cut link)"
	const tookOver = " took over as the sole member: every member had lost entries, and it holds the most of the log"
	tests := []struct {
		name    string
		old     chain.Config
		existed bool
		next    chain.Config
		reason  string
		cause   string
	}{
		{"new chain", chain.Config{}, false, abc, reasonCreated, "created with a, b, c"},
		{"silent member removed", abc, true, chain.Config{Epoch: 2, Members: m("a", "c")},
			reasonNodeFailed, "b failed: no heartbeat for 1.021s"},
		{"live member removed", abc, true, chain.Config{Epoch: 2, Members: m("b", "c")},
			reasonNodeRemoved, "a" + removedAlive},
		{"never heard from", abc, true, chain.Config{Epoch: 2, Members: m("a", "b")},
			reasonNodeFailed, "c failed: never heard from"},
		{"a failure outranks a removal", abc, true, chain.Config{Epoch: 2, Members: m("c")},
			reasonNodeFailed, "a" + removedAlive + "; b failed: no heartbeat for 1.021s"},
		{"silent joining node dropped", chain.Config{Epoch: 2, Members: m("a", "d"), Joining: joining("b")}, true,
			chain.Config{Epoch: 3, Members: m("a", "d")}, reasonNodeFailed, "b failed: no heartbeat for 1.021s"},
		{"join starts", chain.Config{Epoch: 2, Members: m("a", "d")}, true,
			chain.Config{Epoch: 3, Members: m("a", "d"), Joining: joining("e")},
			reasonJoinStarted, "e began to join behind the tail d"},
		{"join completes", chain.Config{Epoch: 3, Members: m("a", "d"), Joining: joining("e")}, true,
			chain.Config{Epoch: 4, Members: m("a", "d", "e")}, reasonJoinCompleted, "e caught up and became the tail"},
		{"a failure outranks a join", chain.Config{Epoch: 3, Members: m("a", "b"), Joining: joining("d")}, true,
			chain.Config{Epoch: 4, Members: m("a"), Joining: joining("e")},
			reasonNodeFailed, "b failed: no heartbeat for 1.021s; d" + removedAlive + "; e began to join behind the tail a"},
		{"a removal outranks a join", chain.Config{Epoch: 3, Members: m("a", "d"), Joining: joining("e")}, true,
			chain.Config{Epoch: 4, Members: m("d", "e")},
			reasonNodeRemoved, "a" + removedAlive + "; e caught up and became the tail"},
		{"a standby node takes over", chain.Config{Epoch: 3, Members: m("a")}, true, chain.Config{Epoch: 4, Members: m("d")},
			reasonNodeRemoved, "a" + removedAlive + "; d" + tookOver},
		{"the joining node takes over", chain.Config{Epoch: 3, Members: m("a"), Joining: joining("d")}, true,
			chain.Config{Epoch: 4, Members: m("d")}, reasonNodeRemoved, "a" + removedAlive + "; d" + tookOver},
		{"same nodes", abc, true, chain.Config{Epoch: 2, Members: m("a", "b", "c")}, reasonOther, "same nodes, new epoch"},
	}
	// b is silent for 1.021 s, c was never heard from, the others are alive.
	h := func(id string) (time.Duration, bool, bool) {
		switch id {
		case "b":
			return 1021 * time.Millisecond, true, false
		case "c":
			return 0, false, false
		}
		return 10 * time.Millisecond, true, true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, cause := explainReconfig(tt.old, tt.existed, tt.next, h)
			require.Equal(t, tt.reason, reason)
			require.Equal(t, tt.cause, cause)
		})
	}
}
