package master

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func TestReconfigCause(t *testing.T) {
	m := func(ids ...string) []chain.Member {
		var ms []chain.Member
		for _, id := range ids {
			ms = append(ms, chain.Member{ID: id, Addr: id})
		}
		return ms
	}
	joining := func(id string) *chain.Member { return &chain.Member{ID: id, Addr: id} }
	abc := chain.Config{Epoch: 1, Members: m("a", "b", "c")}
	tests := []struct {
		name    string
		old     chain.Config
		existed bool
		next    chain.Config
		want    string
	}{
		{"new chain", chain.Config{}, false, abc, "created with a, b, c"},
		{"silent member removed", abc, true, chain.Config{Epoch: 2, Members: m("a", "c")}, "b failed: no heartbeat for 1.021s"},
		{"live member removed", abc, true, chain.Config{Epoch: 2, Members: m("b", "c")},
			"a removed while alive (by an admin, for entries it lost, a move, or a cut link)"},
		{"never heard from", abc, true, chain.Config{Epoch: 2, Members: m("a", "b")}, "c failed: never heard from"},
		{"join starts", chain.Config{Epoch: 2, Members: m("a", "c")}, true,
			chain.Config{Epoch: 3, Members: m("a", "c"), Joining: joining("d")}, "d began to join behind the tail c"},
		{"join completes", chain.Config{Epoch: 3, Members: m("a", "c"), Joining: joining("d")}, true,
			chain.Config{Epoch: 4, Members: m("a", "c", "d")}, "d caught up and became the tail"},
		{"a failure and a join at once", chain.Config{Epoch: 3, Members: m("a", "b"), Joining: joining("d")}, true,
			chain.Config{Epoch: 4, Members: m("a"), Joining: joining("e")},
			"b failed: no heartbeat for 1.021s; d removed while alive (by an admin, for entries it lost, a move, or a cut link); e began to join behind the tail a"},
		{"same nodes", abc, true, chain.Config{Epoch: 2, Members: m("a", "b", "c")}, "same nodes, new epoch"},
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
			require.Equal(t, tt.want, reconfigCause(tt.old, tt.existed, tt.next, h))
		})
	}
}
