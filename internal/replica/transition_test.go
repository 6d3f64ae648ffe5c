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
		{"a static chain's head restarting recovers the commands in flight",
			Change{Old: wire.RoleNone, New: wire.RoleHead, Starting: true, HasSuccessor: true},
			Plan{Complete: true, RecoverInFlight: true, Loops: head}},
		{"a static chain's middle node restarting is complete",
			Change{Old: wire.RoleNone, New: wire.RoleMiddle, Starting: true, HasSuccessor: true},
			Plan{Complete: true, Loops: middle}},
		// Defect 3 of issue 12: a node restarted under a master with the
		// original member list took its epoch-1 role, and, named tail,
		// committed what it held and served at once.
		{"a tail restarting under a master takes no place until the master confirms it",
			Change{Old: wire.RoleNone, New: wire.RoleTail, Starting: true, UnderMaster: true},
			Plan{Unplaced: true}},
		{"a head restarting under a master orders nothing until the master confirms it",
			Change{Old: wire.RoleNone, New: wire.RoleHead, Starting: true, UnderMaster: true, HasSuccessor: true},
			Plan{Unplaced: true}},
		{"a sole member restarting under a master commits nothing on its own until confirmed",
			Change{Old: wire.RoleNone, New: wire.RoleHeadTail, Starting: true, UnderMaster: true},
			Plan{Unplaced: true}},
		{"a restarted node the master confirms as sole member has no one to catch up with",
			Change{Old: wire.RoleNone, New: wire.RoleHeadTail},
			Plan{Complete: true, RecoverInFlight: true, Loops: Loops{Sequencer: true, ReadWorkers: true}}},
		{"a restarted node the master confirms as head recovers the commands in flight",
			Change{Old: wire.RoleNone, New: wire.RoleHead, HasSuccessor: true},
			Plan{Complete: true, RecoverInFlight: true, Loops: head}},
		{"a restarted node the master confirms as joining drops its uncommitted suffix",
			Change{Old: wire.RoleNone, New: wire.RoleJoining},
			Plan{DropUncommitted: true, Loops: Loops{Puller: true}}},
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
		{"a node given its first configuration as tail (a restarted node the master confirms as tail) catches up",
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
