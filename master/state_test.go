package master

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// The tests of the state machine drive it with explicit times: t0 is the
// master's start, the failure timeout is one second and the detector ticks
// every 100ms, as a Master would.
const timeout = time.Second

var t0 = time.Unix(1_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func members(ids ...string) []chain.Member {
	out := make([]chain.Member, len(ids))
	for i, id := range ids {
		out[i] = chain.Member{ID: id, Addr: id + ":addr"}
	}
	return out
}

func ids(ms []chain.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func newTestState(ids ...string) *state {
	return newState(chain.Config{Epoch: 1, Members: members(ids...)}, timeout, t0)
}

// beat records a heartbeat from id at the node's current epoch view; a
// member reports itself complete (holding every committed entry).
func beat(s *state, id string, now time.Time, epoch, last, commit uint64) {
	s.heartbeat(&wire.Heartbeat{ID: id, Addr: id + ":addr", Epoch: epoch, Last: last, Commit: commit,
		Complete: s.cfg.Role(id).IsMember()}, now)
}

// run advances the state machine from one time to another in 100ms
// steps: at each step the nodes in alive heartbeat (at the current epoch,
// all caught up) and the detector ticks. It returns the configurations
// it produced, in order.
func run(s *state, from, to time.Duration, alive ...string) []chain.Config {
	var out []chain.Config
	for d := from; d <= to; d += ms(100) {
		for _, id := range alive {
			beat(s, id, at(d), s.cfg.Epoch, 10, 10)
		}
		if s.tick(at(d)) {
			out = append(out, s.cfg.Clone())
		}
	}
	return out
}

func TestTickRemovesAFailedMember(t *testing.T) {
	for _, tc := range []struct {
		name   string
		victim string
		want   []string
	}{
		{"head", "n1", []string{"n2", "n3"}},
		{"middle", "n2", []string{"n1", "n3"}},
		{"tail", "n3", []string{"n1", "n2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestState("n1", "n2", "n3")
			var live []string
			for _, id := range []string{"n1", "n2", "n3"} {
				if id != tc.victim {
					live = append(live, id)
				}
			}
			// The victim never heartbeats: it still counts as alive for
			// the whole failure timeout from the master's start.
			require.Empty(t, run(s, ms(100), ms(1000), live...))
			require.Equal(t, uint64(1), s.cfg.Epoch)
			changes := run(s, ms(1100), ms(1100), live...)
			require.Len(t, changes, 1)
			require.Equal(t, tc.want, ids(changes[0].Members))
			require.Equal(t, uint64(2), changes[0].Epoch)
			require.Nil(t, changes[0].Joining)
			require.NoError(t, changes[0].Validate())
			// The removed member is kept as a standby node: it may come
			// back only as a new node.
			require.Contains(t, s.standby, tc.victim)
			require.Empty(t, run(s, ms(1200), ms(3000), live...), "a stable chain was reconfigured")
		})
	}
}

func TestTickRemovesSeveralAtOnce(t *testing.T) {
	s := newTestState("n1", "n2", "n3", "n4", "n5")
	changes := run(s, ms(100), ms(1100), "n2", "n4")
	require.Len(t, changes, 1, "several failures detected together make one configuration")
	require.Equal(t, []string{"n2", "n4"}, ids(changes[0].Members))
	require.Equal(t, uint64(2), changes[0].Epoch)
}

func TestTickNeverRemovesTheLastMember(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	changes := run(s, ms(100), ms(1100), "n2")
	require.Len(t, changes, 1)
	require.Equal(t, []string{"n2"}, ids(changes[0].Members))
	// Now the last member goes silent too: the master cannot tell a dead
	// chain from its own isolation and keeps the member.
	require.Empty(t, run(s, ms(1200), ms(20_000)))
	require.Equal(t, []string{"n2"}, ids(s.cfg.Members))
	require.Equal(t, uint64(2), s.cfg.Epoch)
}

func TestTickBlindMasterChangesNothing(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.Empty(t, run(s, ms(100), ms(500), "n1", "n2", "n3"))
	// No member is heard from for 10 seconds: more than the failure
	// timeout for everyone, but no member was heard within half the
	// timeout, so the master assumes it is the one cut off.
	require.Empty(t, run(s, ms(600), ms(10_500)))
	require.True(t, s.blind)
	require.Equal(t, uint64(1), s.cfg.Epoch)

	// Contact returns with n1 only: every node gets a fresh timeout from
	// the first tick that hears n1, so n2 and n3 are not removed at once.
	require.Empty(t, run(s, ms(10_600), ms(11_600), "n1"))
	require.False(t, s.blind)
	require.Equal(t, uint64(1), s.cfg.Epoch)
	// ...but once that timeout has passed they are.
	changes := run(s, ms(11_700), ms(11_700), "n1")
	require.Len(t, changes, 1)
	require.Equal(t, []string{"n1"}, ids(changes[0].Members))
}

func TestTickBlindHalfTimeoutBoundary(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	beat(s, "n1", at(0), 1, 0, 0)
	// n1 heard 500ms ago: still connected, so n2 and n3 (silent since the
	// start, a full timeout ago) would be removed once their timeout is
	// over, but not n1.
	require.False(t, s.tick(at(ms(500))))
	require.False(t, s.blind)
	// 501ms since the last member was heard: blind.
	require.False(t, s.tick(at(ms(501))))
	require.True(t, s.blind)
}

func TestJoiningNodeIsChosenFromLiveStandbyOnly(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	// n3 fails and is removed; the chain is below its target of three.
	changes := run(s, ms(100), ms(1100), "n1", "n2")
	require.Len(t, changes, 1)
	require.Equal(t, []string{"n1", "n2"}, ids(changes[0].Members))
	// While n3 stays silent it is not chosen.
	require.Empty(t, run(s, ms(1200), ms(3000), "n1", "n2"))

	// A removed member that heartbeats again becomes the joining node.
	changes = run(s, ms(3100), ms(3100), "n1", "n2", "n3")
	require.Len(t, changes, 1)
	require.Equal(t, uint64(3), changes[0].Epoch)
	require.Equal(t, []string{"n1", "n2"}, ids(changes[0].Members))
	require.NotNil(t, changes[0].Joining)
	require.Equal(t, "n3", changes[0].Joining.ID)
	require.Equal(t, chain.RoleJoining, changes[0].Role("n3"))
	require.NoError(t, changes[0].Validate())
	require.NotContains(t, s.standby, "n3")
}

func TestJoiningNodeNotChosenAtTarget(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	// A standby node that is alive while the chain has its target length
	// waits (set up directly: addNode would raise the target).
	s.standby["n4"] = chain.Member{ID: "n4", Addr: "n4:addr"}
	beat(s, "n4", at(ms(100)), 0, 0, 0)
	require.Empty(t, run(s, ms(100), ms(3000), "n1", "n2", "n3", "n4"))
	require.Nil(t, s.cfg.Joining)
}

func TestOneJoiningNodeAtATime(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.Len(t, run(s, ms(100), ms(1100), "n1"), 1)
	require.Equal(t, []string{"n1"}, ids(s.cfg.Members))
	// Both come back: the joining node is chosen, caught up and promoted
	// one at a time, the smaller id first.
	var joined []string
	for _, c := range run(s, ms(1200), ms(3000), "n1", "n2", "n3") {
		if c.Joining != nil {
			joined = append(joined, c.Joining.ID)
		}
	}
	require.Equal(t, []string{"n2", "n3"}, joined)
	require.Equal(t, []string{"n1", "n2", "n3"}, ids(s.cfg.Members))
	require.Nil(t, s.cfg.Joining)
}

func TestJoiningNodePromotedOnlyWhenCaughtUp(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.Len(t, run(s, ms(100), ms(1100), "n1", "n2"), 1) // n3 removed: epoch 2
	beat(s, "n3", at(ms(1150)), 1, 7, 5)
	require.True(t, s.tick(at(ms(1200)))) // n3 joining: epoch 3
	require.Equal(t, uint64(3), s.cfg.Epoch)
	require.Equal(t, "n3", s.cfg.Joining.ID)

	step := ms(1200)
	next := func(n3Epoch, n3Last uint64) bool {
		step += ms(100)
		beat(s, "n1", at(step), s.cfg.Epoch, 20, 10)
		beat(s, "n2", at(step), s.cfg.Epoch, 20, 10) // the tail: commit 10
		beat(s, "n3", at(step), n3Epoch, n3Last, 0)
		return s.tick(at(step))
	}
	// Holding enough but still at the old epoch: it has not adopted the
	// configuration that made it the joining node.
	require.False(t, next(2, 50))
	// At the current epoch but behind the tail's commit point.
	require.False(t, next(3, 9))
	require.NotNil(t, s.cfg.Joining)
	// At the current epoch and holding the tail's commit point: promoted.
	require.True(t, next(3, 10))
	require.Equal(t, uint64(4), s.cfg.Epoch)
	require.Equal(t, []string{"n1", "n2", "n3"}, ids(s.cfg.Members))
	require.Nil(t, s.cfg.Joining)
	require.Equal(t, chain.RoleTail, s.cfg.Role("n3"))
}

func TestSilentJoiningNodeGoesBackToStandby(t *testing.T) {
	s := newTestState("n1", "n2")
	require.NoError(t, s.addNode(chain.Member{ID: "n3", Addr: "n3:addr"}))
	beat(s, "n3", at(ms(50)), 0, 0, 0)
	changes := run(s, ms(100), ms(100), "n1", "n2")
	require.Len(t, changes, 1)
	require.Equal(t, "n3", changes[0].Joining.ID)
	// n3 never heartbeats again (n3 heartbeat at 50ms): after the timeout
	// it is dropped from the configuration, back to standby.
	require.Empty(t, run(s, ms(200), ms(1000), "n1", "n2"))
	changes = run(s, ms(1100), ms(1100), "n1", "n2")
	require.Len(t, changes, 1)
	require.Nil(t, changes[0].Joining)
	require.Equal(t, uint64(3), changes[0].Epoch)
	require.Equal(t, []string{"n1", "n2"}, ids(changes[0].Members))
	require.Contains(t, s.standby, "n3")
	// When it heartbeats again, it joins again.
	changes = run(s, ms(1200), ms(1200), "n1", "n2", "n3")
	require.Len(t, changes, 1)
	require.Equal(t, "n3", changes[0].Joining.ID)
	require.Equal(t, uint64(4), changes[0].Epoch)
}

func TestAddNode(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.ErrorIs(t, s.addNode(chain.Member{ID: "", Addr: "x"}), chain.ErrInvalidArgument)
	require.ErrorIs(t, s.addNode(chain.Member{ID: "n4", Addr: ""}), chain.ErrInvalidArgument)
	// Adding a member is a no-op.
	require.NoError(t, s.addNode(chain.Member{ID: "n2", Addr: "n2:addr"}))
	require.Equal(t, 3, s.target)
	require.Empty(t, s.standby)

	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	require.Equal(t, 4, s.target)
	// Adding it again (a retried request) counts once.
	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	require.Equal(t, 4, s.target)
	// Nothing happens until it heartbeats.
	require.Empty(t, run(s, ms(100), ms(500), "n1", "n2", "n3"))
	changes := run(s, ms(600), ms(600), "n1", "n2", "n3", "n4")
	require.Len(t, changes, 1)
	require.Equal(t, "n4", changes[0].Joining.ID)
	// Adding the joining node is a no-op too.
	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	require.Equal(t, 4, s.target)
	// Once caught up it is the tail.
	changes = run(s, ms(700), ms(700), "n1", "n2", "n3", "n4")
	require.Len(t, changes, 1)
	require.Equal(t, []string{"n1", "n2", "n3", "n4"}, ids(changes[0].Members))
}

// A node added at an address a member already has would make every later
// configuration invalid (nodes and clients refuse to adopt it), so the
// master refuses it.
func TestAddNodeRefusesAMemberAddress(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.ErrorIs(t, s.addNode(chain.Member{ID: "n4", Addr: "n1:addr"}), chain.ErrInvalidArgument)
	require.Equal(t, 3, s.target)
	require.Empty(t, s.standby)
}

// A standby node that heartbeats from an address a member has (its
// configuration is wrong) is never made the joining node.
func TestJoiningNodeWithAConflictingAddressIsSkipped(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	for d := ms(100); d <= ms(3000); d += ms(100) {
		for _, id := range []string{"n1", "n2", "n3"} {
			beat(s, id, at(d), s.cfg.Epoch, 0, 0)
		}
		s.heartbeat(&wire.Heartbeat{ID: "n4", Addr: "n1:addr"}, at(d))
		s.tick(at(d))
		require.NoError(t, s.cfg.Validate())
	}
	require.Nil(t, s.cfg.Joining)
}

func TestRemoveNode(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	_, err := s.removeNode("n9")
	require.ErrorIs(t, err, chain.ErrInvalidArgument)

	changed, err := s.removeNode("n2")
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []string{"n1", "n3"}, ids(s.cfg.Members))
	require.Equal(t, uint64(2), s.cfg.Epoch)
	require.Equal(t, 2, s.target)
	// A removed node's heartbeats are ignored: it does not come back.
	require.Empty(t, run(s, ms(100), ms(3000), "n1", "n2", "n3"))
	require.Equal(t, []string{"n1", "n3"}, ids(s.cfg.Members))

	changed, err = s.removeNode("n1")
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []string{"n3"}, ids(s.cfg.Members))
	require.Equal(t, uint64(3), s.cfg.Epoch)

	_, err = s.removeNode("n3")
	require.ErrorIs(t, err, chain.ErrInvalidConfig, "the last member was removed")
	require.Equal(t, []string{"n3"}, ids(s.cfg.Members))
	require.Equal(t, uint64(3), s.cfg.Epoch)
}

func TestRemoveJoiningAndStandbyNodes(t *testing.T) {
	s := newTestState("n1", "n2")
	require.NoError(t, s.addNode(chain.Member{ID: "n3", Addr: "n3:addr"}))
	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	require.Equal(t, 4, s.target)
	changes := run(s, ms(100), ms(100), "n1", "n2", "n3")
	require.Len(t, changes, 1)
	require.Equal(t, "n3", changes[0].Joining.ID)

	// The joining node: the configuration changes.
	changed, err := s.removeNode("n3")
	require.NoError(t, err)
	require.True(t, changed)
	require.Nil(t, s.cfg.Joining)
	require.Equal(t, uint64(3), s.cfg.Epoch)
	require.Equal(t, 3, s.target)

	// A standby node: only the target changes.
	changed, err = s.removeNode("n4")
	require.NoError(t, err)
	require.False(t, changed)
	require.Equal(t, uint64(3), s.cfg.Epoch)
	require.Equal(t, 2, s.target)
	require.Empty(t, s.standby)
	// Neither comes back.
	require.Empty(t, run(s, ms(200), ms(3000), "n1", "n2", "n3", "n4"))
}

// After a blind period every node in the configuration gets a fresh
// timeout; a standby node does not become alive by it: one that died
// before the master lost contact must not be chosen to join.
func TestBlindPeriodDoesNotReviveStandbyNodes(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	changes := run(s, ms(100), ms(1100), "n1", "n2") // n3 dead: removed
	require.Len(t, changes, 1)
	require.Empty(t, run(s, ms(1200), ms(2000), "n1", "n2"))
	require.Empty(t, run(s, ms(2100), ms(5000))) // the master is cut off
	require.True(t, s.blind)
	// Contact returns; n3 stays dead.
	changes = run(s, ms(5100), ms(8000), "n1", "n2")
	require.Empty(t, changes, "a dead standby node was chosen to join: %+v", changes)
}

// TestEpochsStrictlyIncrease drives the state machine with random
// heartbeats, failures, returns and admin operations and checks, after
// every event, that the configuration is valid, keeps at least one
// member, and that each epoch names exactly one configuration.
func TestEpochsStrictlyIncrease(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			s := newTestState("n1", "n2", "n3")
			seen := map[uint64]chain.Config{1: s.cfg.Clone()}
			lastEpoch := uint64(1)
			up := map[string]bool{"n1": true, "n2": true, "n3": true}
			check := func(what string) {
				t.Helper()
				require.NoError(t, s.cfg.Validate(), what)
				require.GreaterOrEqual(t, s.cfg.Epoch, lastEpoch, what)
				if prev, ok := seen[s.cfg.Epoch]; ok {
					require.Equal(t, prev, s.cfg, "%s: two configurations share epoch %d", what, s.cfg.Epoch)
				}
				seen[s.cfg.Epoch] = s.cfg.Clone()
				lastEpoch = s.cfg.Epoch
			}
			all := []string{"n1", "n2", "n3", "n4", "n5"}
			for step := range 400 {
				now := at(time.Duration(step) * ms(100))
				switch r := rng.IntN(100); {
				case r < 5:
					id := all[rng.IntN(len(all))]
					up[id] = !up[id]
				case r < 7:
					id := all[rng.IntN(len(all))]
					_ = s.addNode(chain.Member{ID: id, Addr: id + ":addr"})
					check("add " + id)
				case r < 9:
					id := all[rng.IntN(len(all))]
					before := s.cfg.Clone()
					changed, err := s.removeNode(id)
					if err != nil || !changed {
						require.Equal(t, before, s.cfg)
					} else {
						require.Equal(t, before.Epoch+1, s.cfg.Epoch)
					}
					check("remove " + id)
				}
				for id, ok := range up {
					if ok {
						beat(s, id, now, s.cfg.Epoch, uint64(step), uint64(step))
					}
				}
				before := s.cfg.Epoch
				if s.tick(now) {
					require.Equal(t, before+1, s.cfg.Epoch, "one tick, one epoch")
				} else {
					require.Equal(t, before, s.cfg.Epoch)
				}
				check("tick")
			}
		})
	}
}

func TestMemberThatLostItsLogIsRemovedAtOnce(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	require.Empty(t, run(s, ms(100), ms(500), "n1", "n2", "n3")) // all report commit 10
	// n2 restarted on a durable storage that kept its log but not its
	// latest commit point: nothing was lost.
	require.Equal(t, heartbeatNoChange, s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 1, Last: 10, Commit: 3}, at(ms(550))))
	// n1 restarted on an empty storage: its first heartbeat marks it
	// lost (the master confirms nothing for it, so it never serves as
	// head), and the detector removes it at once.
	require.Equal(t, heartbeatLostLog, s.heartbeat(&wire.Heartbeat{ID: "n1", Addr: "n1:addr", Epoch: 1}, at(ms(560))))
	require.True(t, s.dropLost(at(ms(560))))
	require.Equal(t, []string{"n2", "n3"}, ids(s.cfg.Members))
	require.Equal(t, uint64(2), s.cfg.Epoch)
	require.Contains(t, s.standby, "n1")
	// It rejoins as a new node.
	changes := run(s, ms(600), ms(600), "n1", "n2", "n3")
	require.Len(t, changes, 1)
	require.Equal(t, "n1", changes[0].Joining.ID)
	// A joining node that restarts empty is just behind: no change.
	require.Equal(t, heartbeatNoChange, s.heartbeat(&wire.Heartbeat{ID: "n1", Addr: "n1:addr", Epoch: 3}, at(ms(650))))
	require.Equal(t, uint64(3), s.cfg.Epoch)

	// The last member is never removed, even with its log lost: the
	// chain has lost what it held, and the member serves what it has.
	s = newTestState("n1")
	require.Empty(t, run(s, ms(100), ms(500), "n1"))
	require.Equal(t, heartbeatLostLog, s.heartbeat(&wire.Heartbeat{ID: "n1", Addr: "n1:addr", Epoch: 1, Incarnation: 7}, at(ms(550))))
	require.False(t, s.dropLost(at(ms(550))))
	require.Equal(t, []string{"n1"}, ids(s.cfg.Members))
	require.False(t, s.isLost("n1"))
	require.Equal(t, uint64(7), s.incarnations["n1"])
}

func TestMasterBehindTheChainChangesNothing(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	// n1 reports epoch 4: the master was restarted from an old
	// configuration.
	beat(s, "n1", at(ms(100)), 4, 10, 10)
	require.Equal(t, uint64(4), s.behind)
	// n3 is silent for long, n2 lost its log: no change.
	require.Empty(t, run(s, ms(100), ms(5000), "n1"))
	require.Equal(t, heartbeatNoChange, s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 4}, at(ms(5100))))
	require.Equal(t, uint64(1), s.cfg.Epoch)
	err := s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"})
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
	require.ErrorContains(t, err, "restarted")
	_, err = s.removeNode("n2")
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
}

// TestStandbyWithALongerCommittedLogWaitsForTheTail: a node may join only
// if the log it keeps (through its commit point) fits within the tail's,
// so it stays a prefix of its predecessor's while a new tail catches up.
func TestStandbyWithALongerCommittedLogWaitsForTheTail(t *testing.T) {
	s := newTestState("n1", "n2")
	s.target = 3
	s.standby["n3"] = chain.Member{ID: "n3", Addr: "n3:addr"}
	now := at(ms(100))
	beat(s, "n1", now, 1, 50, 40)
	beat(s, "n2", now, 1, 40, 40)   // the tail holds 40
	beat(s, "n3", now, 0, 204, 204) // n3 committed 204 in an earlier life
	require.False(t, s.tick(now))
	require.Nil(t, s.cfg.Joining)

	now = at(ms(200))
	beat(s, "n1", now, 1, 300, 250)
	beat(s, "n2", now, 1, 250, 250) // the tail has caught up past 204
	beat(s, "n3", now, 0, 204, 204)
	require.True(t, s.tick(now))
	require.NotNil(t, s.cfg.Joining)
	require.Equal(t, "n3", s.cfg.Joining.ID)
}

// promoteStale makes n4 join a chain of n1, n2, n3 and promotes it on a
// stale heartbeat of the tail (commit 0, as before the tail received
// anything): n4 becomes the tail holding nothing, a handoff pending.
func promoteStale(t *testing.T) *state {
	t.Helper()
	s := newTestState("n1", "n2", "n3")
	beat(s, "n3", at(ms(10)), 1, 0, 0)
	require.NoError(t, s.addNode(chain.Member{ID: "n4", Addr: "n4:addr"}))
	beat(s, "n4", at(ms(20)), 0, 0, 0)
	require.True(t, s.tick(at(ms(30)))) // n4 joining: epoch 2
	beat(s, "n4", at(ms(40)), 2, 0, 0)
	require.True(t, s.tick(at(ms(50)))) // n4 promoted: epoch 3
	require.Equal(t, []string{"n1", "n2", "n3", "n4"}, ids(s.cfg.Members))
	require.Equal(t, handoff{ID: "n4", Epoch: 3}, s.handoff)
	return s
}

func TestNewTailNeverLeftAloneBeforeItCaughtUp(t *testing.T) {
	s := promoteStale(t)
	// n2 and n3 fail, then n1 falls silent; n4 heartbeats, not complete.
	incomplete := func(d time.Duration) {
		s.heartbeat(&wire.Heartbeat{ID: "n4", Addr: "n4:addr", Epoch: s.cfg.Epoch}, at(d))
	}
	for d := ms(100); d <= ms(1000); d += ms(100) {
		beat(s, "n1", at(d), s.cfg.Epoch, 10, 10)
		incomplete(d)
		s.tick(at(d))
	}
	for d := ms(1100); d <= ms(5000); d += ms(100) {
		incomplete(d)
		s.tick(at(d))
		require.Contains(t, ids(s.cfg.Members), "n1", "at %v: n4 alone would lose what n1 committed", d)
	}
	require.Equal(t, []string{"n1", "n4"}, ids(s.cfg.Members))
	_, err := s.removeNode("n1")
	require.ErrorIs(t, err, chain.ErrInvalidConfig)

	// n1 comes back; n4 catches up and says so at the current epoch: the
	// handoff ends, and n1 may go.
	beat(s, "n1", at(ms(5100)), s.cfg.Epoch, 10, 10)
	require.Equal(t, heartbeatNoChange, s.heartbeat(&wire.Heartbeat{ID: "n4", Addr: "n4:addr", Epoch: 2, Complete: true}, at(ms(5100))),
		"a report from before the promotion does not end the handoff")
	require.Equal(t, heartbeatCaughtUp, s.heartbeat(&wire.Heartbeat{ID: "n4", Addr: "n4:addr", Epoch: s.cfg.Epoch, Last: 10, Commit: 10, Complete: true}, at(ms(5100))))
	require.Equal(t, handoff{}, s.handoff)
	removed, err := s.removeNode("n1")
	require.NoError(t, err)
	require.True(t, removed)
	require.Equal(t, []string{"n4"}, ids(s.cfg.Members))
}

func TestNoPromotionWhileTheTailCatchesUp(t *testing.T) {
	s := promoteStale(t)
	require.NoError(t, s.addNode(chain.Member{ID: "n5", Addr: "n5:addr"}))
	tail := func(d time.Duration, complete bool) {
		s.heartbeat(&wire.Heartbeat{ID: "n4", Addr: "n4:addr", Epoch: s.cfg.Epoch, Complete: complete}, at(d))
	}
	for d := ms(100); d <= ms(2000); d += ms(100) {
		for _, id := range []string{"n1", "n2", "n3"} {
			beat(s, id, at(d), s.cfg.Epoch, 10, 10)
		}
		beat(s, "n5", at(d), s.cfg.Epoch, 0, 0)
		tail(d, false)
		s.tick(at(d))
	}
	require.Equal(t, "n5", s.cfg.Joining.ID, "n5 may join behind the new tail")
	require.Equal(t, []string{"n1", "n2", "n3", "n4"}, ids(s.cfg.Members), "but not be promoted before it caught up")
	tail(ms(2100), true)
	beat(s, "n5", at(ms(2100)), s.cfg.Epoch, 0, 0)
	require.True(t, s.tick(at(ms(2100))))
	require.Equal(t, []string{"n1", "n2", "n3", "n4", "n5"}, ids(s.cfg.Members))
	require.Equal(t, handoff{ID: "n5", Epoch: s.cfg.Epoch}, s.handoff)
}

func TestFailedNewTailEndsTheHandoff(t *testing.T) {
	s := promoteStale(t)
	changes := run(s, ms(100), ms(1100), "n1", "n2", "n3")
	require.Len(t, changes, 1)
	require.Equal(t, []string{"n1", "n2", "n3"}, ids(changes[0].Members))
	require.Equal(t, handoff{}, s.handoff)
	require.Contains(t, s.standby, "n4")
}
