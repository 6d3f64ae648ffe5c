package master

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

// TestCutLinkTakesTheDownstreamEndOfACutLinkBetweenLiveMembers is the
// link rule's table (issue 19: a cut link between live neighbours stalled
// every write for as long as it lasted).
func TestCutLinkTakesTheDownstreamEndOfACutLinkBetweenLiveMembers(t *testing.T) {
	cut := &wire.LinkHealth{FromPred: ms(1200), Cut: true}
	silent := &wire.LinkHealth{FromPred: ms(1200)} // not yet fenced: no cut
	fine := &wire.LinkHealth{FromPred: ms(5), FromSucc: ms(5)}
	live := func(r *wire.LinkHealth) linkEnd { return linkEnd{Alive: true, Epoch: 4, Last: 10, Report: r} }
	for _, tc := range []struct {
		name string
		ends map[string]linkEnd
		want *linkCut
	}{
		{"every link works", map[string]linkEnd{"n1": live(fine), "n2": live(fine), "n3": live(fine)}, nil},
		{"head to middle cut: the middle leaves",
			map[string]linkEnd{"n1": live(fine), "n2": live(cut), "n3": live(fine)}, &linkCut{"n1", "n2", ms(1200)}},
		{"middle to tail cut: the tail leaves",
			map[string]linkEnd{"n1": live(fine), "n2": live(fine), "n3": live(cut)}, &linkCut{"n2", "n3", ms(1200)}},
		{"a node cut off from both neighbours leaves, its successor stays",
			map[string]linkEnd{"n1": live(fine), "n2": live(cut), "n3": live(cut)}, &linkCut{"n1", "n2", ms(1200)}},
		{"silent but not reported cut: the node may still serve",
			map[string]linkEnd{"n1": live(fine), "n2": live(silent), "n3": live(fine)}, nil},
		{"upstream end dead: the failure detector's case",
			map[string]linkEnd{"n1": {Epoch: 4, Last: 10, Report: fine}, "n2": live(cut), "n3": live(fine)}, nil},
		{"downstream end dead: the failure detector's case",
			map[string]linkEnd{"n1": live(fine), "n2": {Epoch: 4, Last: 10, Report: cut}, "n3": live(fine)}, nil},
		{"upstream end restarted, not yet placed (no epoch): it may hold less",
			map[string]linkEnd{"n1": {Alive: true, Last: 10}, "n2": live(cut), "n3": live(fine)}, nil},
		{"upstream end at an older epoch",
			map[string]linkEnd{"n1": {Alive: true, Epoch: 3, Last: 10}, "n2": live(cut), "n3": live(fine)}, nil},
		{"upstream end's log shorter than the downstream end's: it would lose entries",
			map[string]linkEnd{"n1": {Alive: true, Epoch: 4, Last: 9}, "n2": live(cut), "n3": live(fine)}, nil},
		{"upstream end's log longer: the downstream end leaves",
			map[string]linkEnd{"n1": {Alive: true, Epoch: 4, Last: 12}, "n2": live(cut), "n3": live(fine)}, &linkCut{"n1", "n2", ms(1200)}},
		{"no report at this epoch", map[string]linkEnd{"n1": live(fine), "n2": live(nil), "n3": live(fine)}, nil},
		{"the head reports nothing of a predecessor it has not",
			map[string]linkEnd{"n1": live(cut), "n2": live(fine), "n3": live(fine)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := cutLink(members("n1", "n2", "n3"), 4, tc.ends)
			if tc.want == nil {
				require.False(t, ok, "%+v", got)
				return
			}
			require.True(t, ok)
			require.Equal(t, *tc.want, got)
		})
	}
}

// beatLinks records a heartbeat from id at the current epoch, caught up,
// with link report h.
func beatLinks(s *state, id string, now time.Time, h *wire.LinkHealth) {
	s.heartbeat(&wire.Heartbeat{ID: id, Addr: id + ":addr", Epoch: s.cfg.Epoch, Last: 10, Commit: 10,
		Complete: s.cfg.Role(id).IsMember(), Links: h}, now)
}

func TestTickRemovesTheDownstreamEndOfACutLinkAndLetsItRejoin(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	fine := &wire.LinkHealth{FromPred: ms(5)}
	for d := ms(0); d <= ms(500); d += ms(100) {
		for _, id := range []string{"n1", "n2", "n3"} {
			beatLinks(s, id, at(d), fine)
		}
		require.False(t, s.tick(at(d)))
	}
	// n1 -> n2 is cut: every node is alive, n2 reports the cut.
	beatLinks(s, "n2", at(ms(600)), &wire.LinkHealth{FromPred: ms(1000), Cut: true})
	require.True(t, s.tick(at(ms(600))))
	require.Equal(t, []string{"n1", "n3"}, ids(s.cfg.Members))
	require.Equal(t, uint64(2), s.cfg.Epoch)
	require.Equal(t, []linkCut{{"n1", "n2", ms(1000)}}, s.cuts)
	// The report was at epoch 1: at epoch 2 it decides nothing more, and
	// n2, alive, rejoins behind the tail as a new node.
	beatLinks(s, "n2", at(ms(700)), &wire.LinkHealth{FromPred: ms(1100), Cut: true})
	require.True(t, s.tick(at(ms(700))))
	require.Equal(t, []string{"n1", "n3"}, ids(s.cfg.Members))
	require.NotNil(t, s.cfg.Joining)
	require.Equal(t, "n2", s.cfg.Joining.ID)
}

// A dead upstream end goes silent to its successor and to the master at
// once: by the time the successor reports the cut, the master has not
// heard from it for over half the timeout, and the failure detector
// removes it, not its live successor (in a chain of two that would leave
// the dead node the last member).
func TestTickLeavesACutLinkWithADeadEndToTheFailureDetector(t *testing.T) {
	for _, ids3 := range [][]string{{"n1", "n2"}, {"n1", "n2", "n3"}} {
		s := newTestState(ids3...)
		const death = 250 * time.Millisecond // n1's last heartbeat: 200ms
		for d := ms(0); d <= ms(1500); d += ms(100) {
			if d < death {
				beatLinks(s, "n1", at(d), nil)
			}
			silent := d - death + ms(100) // n2's last response from n1 came a keep-alive before the death
			beatLinks(s, "n2", at(d), &wire.LinkHealth{FromPred: max(0, silent), Cut: silent >= timeout})
			if len(ids3) == 3 {
				beatLinks(s, "n3", at(d), nil)
			}
			if s.tick(at(d)) {
				break
			}
		}
		require.Equal(t, ids3[1:], ids(s.cfg.Members), "the dead head leaves")
		require.Empty(t, s.cuts)
	}
}

func TestTickIgnoresACutReportedAtAnOlderEpoch(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	s.cfg.Epoch = 5
	for d := ms(0); d <= ms(500); d += ms(100) {
		beatLinks(s, "n1", at(d), nil)
		s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 4, Last: 10, Commit: 10,
			Links: &wire.LinkHealth{FromPred: timeout, Cut: true}}, at(d))
		beatLinks(s, "n3", at(d), nil)
		require.False(t, s.tick(at(d)))
	}
}

func TestTickLeavesTheJoiningNodesLinkAlone(t *testing.T) {
	s := newTestState("n1", "n2")
	require.NoError(t, s.addNode(members("n3")[0]))
	beat(s, "n3", at(0), 0, 0, 0)
	require.True(t, s.tick(at(0)))
	require.Equal(t, "n3", s.cfg.Joining.ID)
	for d := ms(100); d <= ms(1500); d += ms(100) {
		beatLinks(s, "n1", at(d), nil)
		beatLinks(s, "n2", at(d), nil)
		s.heartbeat(&wire.Heartbeat{ID: "n3", Addr: "n3:addr", Epoch: s.cfg.Epoch, Links: &wire.LinkHealth{FromPred: d, Cut: true}}, at(d))
		require.False(t, s.tick(at(d)))
	}
	require.Equal(t, "n3", s.cfg.Joining.ID)
}

func TestLinkCutsAreLoggedWithTheirCause(t *testing.T) {
	var buf bytes.Buffer
	logLinkCuts(slog.New(slog.NewTextHandler(&buf, nil)), []chainCut{{chain: "c1", cut: linkCut{"n1", "n2", ms(1200)}, epoch: 7}})
	line := buf.String()
	for _, want := range []string{"replication link cut between live neighbours", "chain=c1", "pred=n1", "succ=n2", "silent=1.2s", "epoch=7"} {
		require.Contains(t, line, want)
	}
}
