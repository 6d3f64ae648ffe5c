package replica

import (
	"testing"

	"github.com/chainrep/chain/wire"
)

func TestTransition(t *testing.T) {
	head := Loops{Sequencer: true, PullServer: true}
	middle := Loops{Puller: true, PullServer: true, CommitNotifier: true}
	tail := Loops{Puller: true, ReadWorkers: true}
	tests := []struct {
		name string
		c    Change
		want Plan
	}{
		{"a static chain's tail restarts serving what it holds",
			Change{Old: wire.RoleNone, New: wire.RoleTail, Starting: true},
			Plan{Complete: true, Loops: tail}},
		{"a tail restarting under a master catches up with its predecessor first",
			Change{Old: wire.RoleNone, New: wire.RoleTail, Starting: true, UnderMaster: true},
			Plan{CatchingUp: true, Loops: tail}},
		{"a sole member restarting under a master has no one to catch up with",
			Change{Old: wire.RoleNone, New: wire.RoleHeadTail, Starting: true, UnderMaster: true},
			Plan{Complete: true, RecoverInFlight: true, Loops: Loops{Sequencer: true, ReadWorkers: true}}},
		{"a head restarting recovers the commands in flight",
			Change{Old: wire.RoleNone, New: wire.RoleHead, Starting: true, UnderMaster: true, HasSuccessor: true},
			Plan{Complete: true, RecoverInFlight: true, Loops: head}},
		{"a middle node restarting is complete",
			Change{Old: wire.RoleNone, New: wire.RoleMiddle, Starting: true, HasSuccessor: true},
			Plan{Complete: true, Loops: middle}},
		{"a joining node restarting keeps its log and is not complete",
			Change{Old: wire.RoleNone, New: wire.RoleJoining, Starting: true, UnderMaster: true},
			Plan{Loops: Loops{Puller: true}}},
		{"a middle node whose tail failed becomes tail and commits all it holds",
			Change{Old: wire.RoleMiddle, New: wire.RoleTail},
			Plan{Complete: true, Loops: tail}},
		{"the joining node named tail catches up with the old tail",
			Change{Old: wire.RoleJoining, New: wire.RoleTail},
			Plan{CatchingUp: true, Loops: tail}},
		{"a new tail still catching up whose predecessor changed keeps catching up",
			Change{Old: wire.RoleTail, New: wire.RoleTail, CatchingUp: true},
			Plan{CatchingUp: true, Loops: tail}},
		{"a complete tail staying tail stays complete",
			Change{Old: wire.RoleTail, New: wire.RoleTail},
			Plan{Complete: true, Loops: tail}},
		{"a tail feeding a joining node streams to it",
			Change{Old: wire.RoleTail, New: wire.RoleTail, HasSuccessor: true},
			Plan{Complete: true, Loops: Loops{Puller: true, PullServer: true, ReadWorkers: true}}},
		{"a node given its first configuration as tail catches up",
			Change{Old: wire.RoleNone, New: wire.RoleTail},
			Plan{CatchingUp: true, Loops: tail}},
		{"a middle node whose head failed becomes head and recovers the commands in flight",
			Change{Old: wire.RoleMiddle, New: wire.RoleHead, HasSuccessor: true},
			Plan{Complete: true, RecoverInFlight: true, Loops: head}},
		{"a head staying head recovers nothing",
			Change{Old: wire.RoleHead, New: wire.RoleHead, HasSuccessor: true},
			Plan{Complete: true, Loops: head}},
		{"a member removed and asked to rejoin drops its uncommitted suffix",
			Change{Old: wire.RoleMiddle, New: wire.RoleJoining},
			Plan{DropUncommitted: true, Loops: Loops{Puller: true}}},
		{"a joining node staying joining keeps its log",
			Change{Old: wire.RoleJoining, New: wire.RoleJoining},
			Plan{Loops: Loops{Puller: true}}},
		{"a node removed from the configuration runs nothing",
			Change{Old: wire.RoleTail, New: wire.RoleNone},
			Plan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transition(tt.c); got != tt.want {
				t.Fatalf("Transition(%+v) =\n %+v, want\n %+v", tt.c, got, tt.want)
			}
		})
	}
}
