package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

func TestStatusShowsEachLinksHealth(t *testing.T) {
	h := &wire.LinkHealth{FromPred: 1200 * time.Millisecond, FromSucc: 3 * time.Millisecond, SuccBehind: 5, Cut: true}
	for _, tc := range []struct {
		name    string
		role    wire.Role
		joining bool
		want    string
	}{
		{"head: its successor only", wire.RoleHead, false, "succ 3ms, 5 behind"},
		{"middle: both, the cut marked", wire.RoleMiddle, false, "pred 1.2s CUT, succ 3ms, 5 behind"},
		{"tail: its predecessor only", wire.RoleTail, false, "pred 1.2s CUT"},
		{"tail feeding a joining node", wire.RoleTail, true, "pred 1.2s CUT, succ 3ms, 5 behind"},
		{"a chain of one has no links", wire.RoleHeadTail, false, "-"},
		{"joining: its predecessor, the tail", wire.RoleJoining, true, "pred 1.2s CUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, linkStatusOf(h, tc.role, tc.joining).text())
		})
	}
	require.Equal(t, "-", linkStatusOf(nil, wire.RoleMiddle, false).text(), "a node that predates the report")
}
