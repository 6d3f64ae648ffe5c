package master

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

func TestLastCopyTakesTheNodeThatHoldsTheMost(t *testing.T) {
	member := func(id string, holds uint64) logCopy {
		return logCopy{ID: id, Kind: copyMember, Holds: holds, Alive: true}
	}
	joining := func(id string, holds uint64, alive bool) logCopy {
		return logCopy{ID: id, Kind: copyJoining, Holds: holds, Alive: alive}
	}
	standby := func(id string, holds uint64, alive bool) logCopy {
		return logCopy{ID: id, Kind: copyStandby, Holds: holds, Alive: alive}
	}
	tests := []struct {
		name   string
		copies []logCopy
		want   string // "" when the chain waits
	}{
		{"none", nil, ""},
		{"a wiped sole member, nothing elsewhere", []logCopy{member("n1", 0)}, "n1"},
		{"a member that kept more than a standby node's commit point", []logCopy{member("n1", 90), standby("n3", 80, true)}, "n1"},
		{"equal: the member stays", []logCopy{member("n1", 80), standby("n3", 80, true), joining("n4", 80, true)}, "n1"},
		{"the removed complete member, alive", []logCopy{member("n1", 0), standby("n3", 749, true)}, "n3"},
		{"the removed complete member, silent: wait", []logCopy{member("n1", 0), standby("n2", 700, true), standby("n3", 749, false)}, ""},
		{"the joining node", []logCopy{member("s1", 0), joining("s2", 326, true)}, "s2"},
		{"the joining node, silent: wait", []logCopy{member("s1", 0), joining("s2", 326, false)}, ""},
		{"equal: the joining node before a standby node", []logCopy{member("n1", 0), standby("n2", 50, true), joining("n3", 50, true)}, "n3"},
		{"equal standby nodes: the smallest id", []logCopy{member("n1", 0), standby("n3", 50, true), standby("n2", 50, true)}, "n2"},
		{"of two lost members, the one that kept the most", []logCopy{member("n1", 3), member("n2", 7)}, "n2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := lastCopy(tt.copies)
			require.Equal(t, tt.want != "", ok)
			if ok {
				require.Equal(t, tt.want, got.ID)
			}
		})
	}
}

// TestWipedSoleMemberWaitsForTheRemovedCompleteMember is the master's half
// of defect 1 of issue 12 (simulation seed 2402373656277448531): the head
// crashed, and the masters, not yet seeing it, removed the two other
// members, which they could not hear from (one isolated, one cut off
// from the leading master), leaving the head the sole member. It
// restarted on a wiped disk. The chain must not go on from its empty log
// (as head it would order new entries at committed offsets): it waits,
// the wiped node unconfirmed, until the removed member that holds the
// most of the log is heard from again, and goes on from it.
func TestWipedSoleMemberWaitsForTheRemovedCompleteMember(t *testing.T) {
	s := newTestState("n1", "n2", "n3")
	for i, id := range []string{"n1", "n2", "n3"} {
		s.heartbeat(beatInc(id, 1, 749, uint64(i+1)), at(ms(100)))
	}
	require.Equal(t, map[string]uint64{"n1": 1, "n2": 2, "n3": 3}, s.incarnations)
	// n2 reports a little less committed before it goes silent.
	s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 1, Last: 749, Commit: 740, Incarnation: 2}, at(ms(150)))
	// n1 keeps heartbeating until it crashes; n2 and n3 are silent.
	s.heartbeat(beatInc("n1", 1, 749, 1), at(ms(1100)))
	require.True(t, s.tick(at(ms(1200))))
	require.Equal(t, []string{"n1"}, ids(s.cfg.Members))
	require.Contains(t, s.standby, "n2")
	require.Contains(t, s.standby, "n3")

	// n1 restarted on a wiped disk: unplaced, an empty log, a new storage.
	require.Equal(t, heartbeatLostLog, s.heartbeat(beatInc("n1", 0, 0, 11), at(ms(1300))))
	epoch := s.cfg.Epoch
	for d := 1300; d <= 2500; d += 100 {
		s.heartbeat(beatInc("n1", 0, 0, 11), at(ms(d)))
		if d >= 1800 { // n2 is heard from again, with its commit point below n3's
			s.heartbeat(&wire.Heartbeat{ID: "n2", Addr: "n2:addr", Epoch: 1, Last: 749, Commit: 740, Incarnation: 2}, at(ms(d)))
		}
		require.False(t, s.dropLost(at(ms(d))), "at %dms", d)
		require.False(t, s.tick(at(ms(d))), "at %dms", d)
		require.Equal(t, epoch, s.cfg.Epoch)
		require.False(t, s.confirms(s.durable(), "n1", 11), "the wiped node's place was confirmed at %dms", d)
	}

	// n3, which holds the most, is heard from: the chain goes on from it,
	// and the wiped node rejoins behind it as a new node.
	s.heartbeat(&wire.Heartbeat{ID: "n3", Addr: "n3:addr", Epoch: 2, Last: 749, Commit: 749, Incarnation: 3}, at(ms(2600)))
	require.True(t, s.tick(at(ms(2600))))
	require.Equal(t, []string{"n3"}, ids(s.cfg.Members))
	require.Nil(t, s.cfg.Joining)
	require.Equal(t, epoch+1, s.cfg.Epoch)
	require.Contains(t, s.standby, "n1")
	require.NotContains(t, s.standby, "n3")
	applied := s.durable()
	require.True(t, s.confirms(applied, "n3", 3), "the member that holds the log is placed")
	require.False(t, s.confirms(applied, "n1", 11))

	// n1 rejoins on its new storage, behind n3.
	s.heartbeat(beatInc("n3", s.cfg.Epoch, 749, 3), at(ms(2700)))
	s.heartbeat(beatInc("n1", 0, 0, 11), at(ms(2700)))
	require.True(t, s.tick(at(ms(2700))))
	require.Equal(t, "n1", s.cfg.Joining.ID)
	require.Equal(t, []string{"n3"}, ids(s.cfg.Members))
}

// TestVolatileServerRestartHandsTheChainToTheJoiningNode is the master's
// half of simulation seed 1945546371053898681 (a partitioned cluster of
// two servers): chain c0 ran on s1/c0 alone, with s2/c0 joining behind
// it, when s1's server crashed and restarted on volatile storage. Its
// beat marked s1/c0 lost; the chain, every member lost, kept it as sole
// member, confirmed it on its empty log, and then promoted s2/c0, which
// held the whole log, behind it: a head with an empty log before a tail
// with 326 entries, which no rule would take apart. The chain goes on
// from the joining node instead.
func TestVolatileServerRestartHandsTheChainToTheJoiningNode(t *testing.T) {
	s1, s2 := chain.Member{ID: "s1/c0", Addr: wire.ReplicaAddr("s1:addr", "c0")}, chain.Member{ID: "s2/c0", Addr: wire.ReplicaAddr("s2:addr", "c0")}
	d := durable{
		Plan:    plan{Chains: 1, Replicas: 2},
		Servers: []serverRecord{{ID: "s1", Addr: "s1:addr", Incarnation: 1}, {ID: "s2", Addr: "s2:addr", Incarnation: 2}},
		Chains: []chainDurable{{ID: "c0", SlotHi: wire.Slots, Target: 2,
			Config:       chain.Config{Epoch: 8, Members: []chain.Member{s1}, Joining: &s2},
			Incarnations: map[string]uint64{"s1/c0": 11, "s2/c0": 22}}},
	}
	cl := newCluster(d, timeout, t0)
	c0 := cl.chain("c0")
	hb := func(m chain.Member, epoch, last, commit, inc uint64) *wire.Heartbeat {
		return &wire.Heartbeat{Chain: "c0", ID: m.ID, Addr: m.Addr, Epoch: epoch, Last: last, Commit: commit, Incarnation: inc}
	}
	c0.heartbeat(hb(s1, 8, 330, 326, 11), at(ms(100)))
	c0.heartbeat(hb(s2, 8, 320, 0, 22), at(ms(100)))
	cl.serverBeat(&wire.ServerBeat{ID: "s2", Addr: "s2:addr", Incarnation: 2, Volatile: true}, at(ms(100)))

	// s1 restarts on volatile storage: its beat marks s1/c0 lost.
	require.True(t, cl.serverBeat(&wire.ServerBeat{ID: "s1", Addr: "s1:addr", Incarnation: 3, Volatile: true}, at(ms(200))))
	require.True(t, c0.isLost("s1/c0"))
	cl.tick(at(ms(200)))
	// Its replica, restarted empty, reports its new storage; s2/c0
	// catches up.
	c0.heartbeat(hb(s1, 0, 0, 0, 33), at(ms(250)))
	cl.dropLost(at(ms(250)))
	for step := 300; step <= 600; step += 100 {
		c0.heartbeat(hb(s2, c0.cfg.Epoch, 326, 326, 22), at(ms(step)))
		c0.heartbeat(hb(s1, 0, 0, 0, 33), at(ms(step)))
		cl.tick(at(ms(step)))
	}
	applied := cl.durable()
	c, _ := applied.chain("c0")
	require.NotEqual(t, "s1/c0", c.Config.Head().ID, "the replica restarted empty heads the chain: %v", c.Config)
	require.Equal(t, "s2/c0", c.Config.Head().ID)
	require.False(t, c0.confirms(c, "s1/c0", 33) && c.Config.Role("s1/c0").IsMember(),
		"the replica restarted empty was confirmed as a member")
}
