package master

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// beatInc is a heartbeat from id on the storage of incarnation inc, at
// the state's epoch, with a log and commit point through last.
func beatInc(id string, epoch, last, inc uint64) *wire.Heartbeat {
	return &wire.Heartbeat{ID: id, Addr: id + ":addr", Epoch: epoch, Last: last, Commit: last, Incarnation: inc}
}

// TestMembersStorageIncarnationsAreRecordedAndChecked: the master records
// the storage incarnation each member first reports, confirms a member
// only on the recorded storage, and marks a member that reports another
// one lost even when its log looks complete (a master that took over
// knows no commit point it reported): it is removed and rejoins.
func TestMembersStorageIncarnationsAreRecordedAndChecked(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	for i, id := range []string{"n1", "n2", "n3"} {
		want := heartbeatNoChange // not before every member reported (see firstStorage)
		if i == 2 {
			want = heartbeatRecorded
		}
		require.Equal(t, want, s.heartbeat(beatInc(id, 1, 10, uint64(i+1)), at(ms(100))))
	}
	require.Equal(t, map[string]uint64{"n1": 1, "n2": 2, "n3": 3}, s.incarnations)
	applied := s.durable()
	require.Equal(t, s.incarnations, applied.Incarnations)

	tests := []struct {
		name string
		id   string
		inc  uint64
		c    chainDurable
		want bool
	}{
		{"a member on its recorded storage", "n1", 1, applied, true},
		{"a member on another storage", "n1", 9, applied, false},
		{"a node that reports no incarnation", "n1", 0, applied, false},
		{"a member whose storage is not yet recorded in the applied state", "n1", 1, chainDurable{Config: applied.Config}, false},
		{"a node that is not configured", "n4", 4, applied, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, s.confirms(tt.c, tt.id, tt.inc))
		})
	}

	// n1 restarted on a wiped storage that a sync of the chain refilled
	// to the same length: the incarnation alone shows the loss.
	require.Equal(t, heartbeatLostLog, s.heartbeat(beatInc("n1", 1, 10, 9), at(ms(200))))
	require.False(t, s.confirms(applied, "n1", 9))
	require.False(t, s.confirms(applied, "n1", 1), "the old storage's incarnation confirms nothing once the node reported another")
	require.True(t, s.tick(at(ms(200))))
	require.Equal(t, []string{"n2", "n3"}, ids(s.cfg.Members))
	require.Contains(t, s.standby, "n1")
	require.NotContains(t, s.durable().Incarnations, "n1")

	// It rejoins on its new storage, which is recorded as it joins.
	require.True(t, s.tick(at(ms(300))))
	require.Equal(t, "n1", s.cfg.Joining.ID)
	require.Equal(t, uint64(9), s.durable().Incarnations["n1"])
}

// TestLostMemberIsRemovedAfterAFailedCommit is the master's half of defect
// 1 of issue 12: the working state removed the member that lost its log
// while another change waited between two commits, the commit failed
// ("configuration change not committed"), the working state went back to
// the applied one, and the loss, its low commit point recorded, was never
// seen again. The mark outlives the reload, and the next tick removes it.
func TestLostMemberIsRemovedAfterAFailedCommit(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	for i, id := range []string{"n1", "n2", "n3"} {
		s.heartbeat(beatInc(id, 1, 10, uint64(i+1)), at(ms(100)))
	}
	applied := s.durable()
	require.Equal(t, heartbeatLostLog, s.heartbeat(beatInc("n1", 1, 0, 1), at(ms(150))))
	require.True(t, s.dropLost(at(ms(150))))
	// The commit fails: the working state is the applied one again.
	s.load(applied, at(ms(160)))
	require.Equal(t, []string{"n1", "n2", "n3"}, ids(s.cfg.Members))
	// n1's next heartbeat shows nothing new (its commit point is as low
	// as the last one), yet it is still lost, and removed.
	require.Equal(t, heartbeatNoChange, s.heartbeat(beatInc("n1", 1, 0, 1), at(ms(200))))
	require.False(t, s.confirms(applied, "n1", 1))
	require.True(t, s.tick(at(ms(200))))
	require.Equal(t, []string{"n2", "n3"}, ids(s.cfg.Members))
	require.Equal(t, uint64(2), s.cfg.Epoch)
}

// TestLostMemberCountsAsHoldingNothing: with the new tail catching up, the
// only complete member losing its log leaves no member that holds every
// committed entry: the handoff ends (the chain lost them), and no lost
// member counts as complete meanwhile.
func TestLostMemberCountsAsHoldingNothing(t *testing.T) {
	s := newTestState("n1", "n2")
	s.handoff = handoff{ID: "n2", Epoch: 1}
	s.heartbeat(beatInc("n1", 1, 10, 1), at(ms(100)))
	require.True(t, s.hasComplete(s.cfg.Members))
	s.heartbeat(beatInc("n1", 1, 0, 7), at(ms(150)))
	require.False(t, s.hasComplete(s.cfg.Members))
	require.True(t, s.dropLost(at(ms(150))))
	require.Equal(t, []string{"n2"}, ids(s.cfg.Members))
	require.Equal(t, handoff{}, s.handoff)
}

// TestMasterAdoptsTheConfigurationNodesReport is the rule of defect 10 of
// issue 12: a master restarted without its state hears a node at a later
// epoch that reports its configuration, and adopts it.
func TestMasterAdoptsTheConfigurationNodesReport(t *testing.T) {
	chainCfg := chain.Config{Epoch: 6, Members: members("n3", "n2", "n4")}
	tests := []struct {
		name  string
		hb    *wire.Heartbeat
		adopt bool
	}{
		{"a member's configuration at its epoch", &wire.Heartbeat{ID: "n2", Epoch: 6, Config: &chainCfg}, true},
		{"no configuration (an unconfirmed node, or an older one)", &wire.Heartbeat{ID: "n2", Epoch: 6}, false},
		{"a configuration at another epoch than the node's", &wire.Heartbeat{ID: "n2", Epoch: 7, Config: &chainCfg}, false},
		// Seed 700841 of the simulation: the sole member restarted (it
		// reports no configuration until confirmed) and only the member
		// removed before, a standby node, knew the chain's epoch; a master
		// that waited for a member's report waited forever.
		{"a removed member's configuration, without it", &wire.Heartbeat{ID: "n1", Epoch: 6, Config: &chainCfg, Standby: true}, true},
		{"the configuration of a node the master never knew", &wire.Heartbeat{ID: "n9", Epoch: 6, Config: &chainCfg}, true},
		{"an invalid configuration", &wire.Heartbeat{ID: "n2", Epoch: 6, Config: &chain.Config{Epoch: 6}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestState("n1", "n2", "n3")
			s.heartbeat(tt.hb, at(ms(100)))
			if !tt.adopt {
				require.Equal(t, uint64(1), s.cfg.Epoch)
				require.False(t, s.adopted)
				return
			}
			require.Equal(t, chainCfg, s.cfg)
			require.Zero(t, s.behind)
			require.True(t, s.adopted)
			require.Contains(t, s.standby, "n1", "the initial member the chain lacks rejoins")
			require.Equal(t, 4, s.target)
			require.Equal(t, handoff{ID: "n4", Epoch: 6}, s.handoff, "the tail counts as catching up until it reports itself complete")
			require.Equal(t, heartbeatCaughtUp, s.heartbeat(&wire.Heartbeat{ID: "n4", Epoch: 6, Complete: true}, at(ms(150))))
		})
	}
	// A node at a later epoch still puts the adopting master behind.
	s := newTestState("n1", "n2", "n3")
	s.heartbeat(&wire.Heartbeat{ID: "n3", Epoch: 9}, at(ms(100)))
	s.heartbeat(&wire.Heartbeat{ID: "n2", Epoch: 6, Config: &chainCfg}, at(ms(100)))
	require.Equal(t, uint64(9), s.behind)
}

// TestFSMTakesAnAdoptedEpochOnlyWhenTold: the FSM refuses a configuration
// two epochs above the applied one, unless the command adopts it.
func TestFSMTakesAnAdoptedEpochOnlyWhenTold(t *testing.T) {
	cur := single(chainDurable{Config: chain.Config{Epoch: 1, Members: members("n1")}, Target: 1})
	next := single(chainDurable{Config: chain.Config{Epoch: 6, Members: members("n2")}, Target: 1})
	require.ErrorIs(t, check(cur, next, false), errConflict)
	require.NoError(t, check(cur, next, true))
	require.ErrorIs(t, check(next, cur, true), errConflict, "adopting never lowers an epoch")
}

// TestMasterWithoutStateTakesBackTheStandbyNodes is the rule of defect 10
// of issue 12 for the nodes no configuration names (seed
// 1132250126472009117 of master-restart-empty): a node added after the
// chain started was a standby node when the lone master was restarted
// without its state; the nodes run the initial epoch, so there was
// nothing to adopt, and the master, which knew only its initial
// configuration, ignored the node's heartbeats: it never joined. A node
// a leader told it is a standby node says so in its heartbeats, and a
// master that does not know it takes it as one, unless it removed it for
// good.
func TestMasterWithoutStateTakesBackTheStandbyNodes(t *testing.T) {
	claim := func(id string) *wire.Heartbeat {
		return &wire.Heartbeat{ID: id, Addr: id + ":addr", Standby: true}
	}
	tests := []struct {
		name  string
		prep  func(s *state)
		hb    *wire.Heartbeat
		taken bool
	}{
		{"a node the master does not know claims", nil, claim("n3"), true},
		{"a node that claims nothing", nil, &wire.Heartbeat{ID: "n3", Addr: "n3:addr"}, false},
		{"a member claims", nil, claim("n2"), false},
		{"a standby node claims", func(s *state) { require.NoError(t, s.addNode(chain.Member{ID: "n3", Addr: "n3:addr"})) }, claim("n3"), false},
		{"a node removed for good claims", func(s *state) {
			require.NoError(t, s.addNode(chain.Member{ID: "n3", Addr: "n3:addr"}))
			_, err := s.removeNode("n3")
			require.NoError(t, err)
		}, claim("n3"), false},
		{"a member removed for good claims", func(s *state) {
			_, err := s.removeNode("n2")
			require.NoError(t, err)
		}, claim("n2"), false},
		{"a node removed for good and added again claims", func(s *state) {
			_, err := s.removeNode("n2")
			require.NoError(t, err)
			require.NoError(t, s.addNode(chain.Member{ID: "n2", Addr: "n2:addr"}))
			delete(s.standby, "n2") // as a master that lost what it held since
		}, claim("n2"), true},
		{"a node at a member's address claims", nil, &wire.Heartbeat{ID: "n3", Addr: "n1:addr", Standby: true}, false},
		{"the master is behind the chain", func(s *state) { s.behind = 7 }, claim("n3"), false},
		{"a chain of a partitioned cluster", func(s *state) { s.id = "c1" }, claim("n3"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestState("n1", "n2")
			if tt.prep != nil {
				tt.prep(s)
			}
			target := s.target
			require.Equal(t, tt.taken, s.takesClaim(tt.hb))
			res := s.heartbeat(tt.hb, at(ms(100)))
			if !tt.taken {
				require.NotEqual(t, heartbeatClaimed, res)
				require.Equal(t, target, s.target)
				return
			}
			require.Equal(t, heartbeatClaimed, res)
			require.Contains(t, s.standby, tt.hb.ID)
			require.Equal(t, max(target, len(s.configured())+len(s.standby)), s.target, "the target length counts it")
			require.True(t, s.standbyOf(tt.hb.ID), "the master tells it it is a standby node")
		})
	}

	// The whole course: a master restarted without its state takes the
	// claim, and the node joins, catches up and becomes the tail.
	s := newTestState("n1", "n2")
	beat(s, "n1", at(ms(50)), 1, 184, 184)
	beat(s, "n2", at(ms(50)), 1, 184, 184)
	require.Equal(t, heartbeatClaimed, s.heartbeat(claim("n3"), at(ms(50))))
	require.Equal(t, 3, s.durable().Target)
	require.True(t, s.tick(at(ms(100))))
	require.Equal(t, "n3", s.cfg.Joining.ID)
	s.heartbeat(&wire.Heartbeat{ID: "n3", Addr: "n3:addr", Epoch: 2, Last: 184, Commit: 184, Standby: true}, at(ms(150)))
	beat(s, "n1", at(ms(150)), 2, 184, 184)
	beat(s, "n2", at(ms(150)), 2, 184, 184)
	require.True(t, s.tick(at(ms(200))))
	require.Equal(t, []string{"n1", "n2", "n3"}, ids(s.cfg.Members))

	// The record of a removal is replicated.
	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	_, err := s.removeNode("n4")
	require.NoError(t, err)
	d := s.durable()
	require.Equal(t, []string{"n4"}, d.Removed)
	r := restoreState(d, timeout, at(ms(300)))
	require.False(t, r.takesClaim(claim("n4")), "a new leader refuses the claim of a node removed for good")
}

// TestMasterRecordsNoStorageBeforeItKnowsTheChain is the rule for a
// member whose storage the master has no record of (seeds
// 1320876768766851330 and 1320876768766851659: the head was wiped and
// restarted while the lone master restarted without its state; the
// master, which adopted the chain's configuration and knew no storage,
// recorded the wiped one at the head's first heartbeat and confirmed its
// place: it ordered new entries at offsets the chain had committed). The
// master records none before every member has reported, and marks lost a
// member whose log ends below a commit point another reported.
func TestMasterRecordsNoStorageBeforeItKnowsTheChain(t *testing.T) {
	tests := []struct {
		name  string
		beats []*wire.Heartbeat // n2 and n3 first, then n1's
		want  heartbeatResult
	}{
		{"the wiped head reports first", nil, heartbeatNoChange},
		{"the others hold the log", []*wire.Heartbeat{beatInc("n2", 6, 832, 2), beatInc("n3", 6, 832, 3)}, heartbeatLostLog},
		{"one other has reported", []*wire.Heartbeat{beatInc("n2", 6, 832, 2)}, heartbeatNoChange},
		{"a new chain: nothing committed", []*wire.Heartbeat{beatInc("n2", 6, 0, 2), beatInc("n3", 6, 0, 3)}, heartbeatRecorded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestState("n1", "n2", "n3")
			s.cfg.Epoch = 6 // as adopted: no storage recorded
			for _, hb := range tt.beats {
				s.heartbeat(hb, at(ms(100)))
			}
			// n1 restarted on a wiped disk: unplaced, an empty log.
			wiped := beatInc("n1", 0, 0, 9)
			require.Equal(t, tt.want, s.heartbeat(wiped, at(ms(150))))
			applied := s.durable()
			require.Equal(t, tt.want == heartbeatRecorded, s.confirms(applied, "n1", 9),
				"confirmed the place of a head whose log is empty (it holds all only when nothing was committed)")
			if tt.want == heartbeatLostLog {
				require.True(t, s.dropLost(at(ms(150))))
				require.Equal(t, []string{"n2", "n3"}, ids(s.cfg.Members))
			}
		})
	}

	// Once every member has reported, the others' storage is recorded at
	// once: the chain is placed as fast as before.
	s := newTestState("n1", "n2", "n3")
	s.heartbeat(beatInc("n1", 1, 10, 1), at(ms(100)))
	s.heartbeat(beatInc("n2", 1, 10, 2), at(ms(100)))
	require.Empty(t, s.incarnations)
	require.Equal(t, heartbeatRecorded, s.heartbeat(beatInc("n3", 1, 10, 3), at(ms(100))))
	require.Equal(t, map[string]uint64{"n1": 1, "n2": 2, "n3": 3}, s.incarnations)
	require.True(t, s.confirms(s.durable(), "n1", 1))
}

// TestStandbyNodeJoinsOnlyOnceHeardFrom (simulation seed 700703: a lone
// master restarted without its state, add-node, fsync-fail-head): the
// master adopted the configuration of the one member a node reported,
// and the other member of its initial configuration, n2, became a
// standby node that, given a failure timeout to report, counted as alive
// before it said anything. It joined behind the tail at once, its commit
// point unknown: it held 71 committed entries, the tail 9, and its log
// was not a prefix of its predecessor's. A standby node joins only once
// heard from, and then only if its committed prefix fits in the tail's
// log.
func TestStandbyNodeJoinsOnlyOnceHeardFrom(t *testing.T) {
	s := newTestState("n1", "n2")
	adopted := chain.Config{Epoch: 6, Members: members("n1")}
	require.Equal(t, heartbeatAdopted, s.heartbeat(&wire.Heartbeat{ID: "n1", Addr: "n1:addr", Epoch: 6, Last: 9, Commit: 9,
		Incarnation: 1, Config: &adopted}, at(ms(100))))
	require.Contains(t, s.standby, "n2")
	require.True(t, s.alive("n2", at(ms(200))), "n2 is given a failure timeout to report")
	for d := 200; d <= 400; d += 100 {
		s.heartbeat(beatInc("n1", 6, 9, 1), at(ms(d)))
		require.False(t, s.tick(at(ms(d))), "at %dms: %v", d, s.cfg)
	}
	// n2 reports a committed prefix beyond the tail's log: passed over.
	s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 5, Last: 71, Commit: 71, Incarnation: 2}, at(ms(500)))
	s.heartbeat(beatInc("n1", 6, 9, 1), at(ms(500)))
	require.False(t, s.tick(at(ms(500))))
	require.Nil(t, s.cfg.Joining)
	// Once the tail holds it, n2 joins.
	s.heartbeat(beatInc("n1", 6, 80, 1), at(ms(600)))
	s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 5, Last: 71, Commit: 71, Incarnation: 2}, at(ms(600)))
	require.True(t, s.tick(at(ms(600))))
	require.Equal(t, "n2", s.cfg.Joining.ID)
}
