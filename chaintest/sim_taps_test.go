package chaintest

import (
	"testing"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// TestTapCrashCountsAsAStep: a crash an armed tap makes when the master
// names a new tail counts as a step performed, however long after its
// step it comes, so that a step measuring how soon the chain recovers
// does not take the stall it causes for its own. Seed 600224 (with
// CHAIN_FAULTS=wipe,crash-all,restart-lone-tail,fsync-fail-head): a
// kill-new-tail-early step's tap stayed armed (its tail restarted before
// the master named another), the link rule named a new tail during a
// link-cut step, the tap crashed it, and the link-cut bound was missed
// for the crash. A lone tail the schedule may not crash is no step.
func TestTapCrashCountsAsAStep(t *testing.T) {
	members := func(ids ...string) []chain.Member {
		var out []chain.Member
		for _, id := range ids {
			out = append(out, chain.Member{ID: id, Addr: id})
		}
		return out
	}
	tests := []struct {
		name    string
		armed   bool
		members []chain.Member
		want    int64
	}{
		{"an armed tap crashes the new tail", true, members("n1", "n2"), 1},
		{"nothing armed", false, members("n1", "n2"), 0},
		{"a lone new tail is not crashed", true, members("n2"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &simRun{tl: newTimeline(), group: &masterGroup{addrs: []string{MasterAddr}}, enabled: FaultSet{}}
			r.tap = tapState{epoch: 1, tail: "n3"}
			if tt.armed {
				r.armTap(tapKillNewTail, Step{Kind: FaultKillNewTailEarly})
			}
			r.onSend(MasterAddr, "n1", &wire.ConfigUpdate{Config: chain.Config{Epoch: 2, Members: tt.members}})
			if got := r.performed.Load(); got != tt.want {
				t.Fatalf("steps performed after the tap: %d, want %d", got, tt.want)
			}
		})
	}
}
