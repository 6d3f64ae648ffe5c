package master

import (
	"testing"
	"testing/synctest"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

func masterIDs(t *testing.T, m *Master) []string {
	t.Helper()
	ps, err := m.Masters()
	require.NoError(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.Addr)
	}
	return ids
}

// TestAddedMasterWithNothingBehindIsRemovedAgain: adding a master that
// does not run used to commit it as a voter at once, so a lone master lost
// its quorum for good (every later change timed out). It now joins as a
// non-voter, is removed again when it never answers, the refusal says
// why, and the master still makes changes.
func TestAddedMasterWithNothingBehindIsRemovedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m1 := startLoneMaster(t)
		ep, err := g.net.Listen("")
		require.NoError(t, err)
		resp := adminTo(t, ep, "m1", &wire.AdminRequest{ID: 1, Op: wire.AdminAddMaster, Member: chain.Member{ID: "m9", Addr: "raft-m9"}})
		require.NotNil(t, resp.Err, "accepted")
		require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
		require.Contains(t, resp.Err.Message, "m9 was not added, it never answered raft within")
		require.Contains(t, resp.Err.Message, "removed again")
		servers, err := m1.servers()
		require.NoError(t, err)
		require.Len(t, servers, 1, "m9 left in the group: %v", servers)
		require.Equal(t, []string{"m1"}, masterIDs(t, m1))
		require.True(t, m1.IsLeader())
		_, err = m1.AddNode(chain.Member{ID: "n2", Addr: "n2"})
		require.NoError(t, err, "the group lost its quorum")
	})
}

// TestAddedMasterIsPromotedOnceCaughtUp: a running master joins as a
// non-voter and becomes a voter; the leader's record shows it answered
// with a log matching the leader's.
func TestAddedMasterIsPromotedOnceCaughtUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m1 := startLoneMaster(t)
		for range 5 { // some log for m2 to catch up on
			_, err := m1.AddNode(chain.Member{ID: "x", Addr: "x"})
			require.NoError(t, err)
			_, err = m1.RemoveNode("x")
			require.NoError(t, err)
		}
		g.startMaster("m2", Options{Join: true})
		require.NoError(t, m1.AddMaster(Peer{Addr: "m2", RaftAddr: "raft-m2"}))
		require.Equal(t, []string{"m1", "m2"}, masterIDs(t, m1))
		servers, err := m1.servers()
		require.NoError(t, err)
		for _, s := range servers {
			require.Equal(t, raft.Voter, s.Suffrage, "%s", s.ID)
		}
		p := m1.progress.progress("raft-m2")
		require.True(t, p.synced)
		require.GreaterOrEqual(t, p.match+catchUpFor(bubbleTimeout).MaxLag, m1.raft.LastIndex())
		// Adding it again changes nothing.
		require.NoError(t, m1.AddMaster(Peer{Addr: "m2", RaftAddr: "raft-m2"}))
		require.Equal(t, []string{"m1", "m2"}, masterIDs(t, m1))
	})
}

// TestRemovingAnUnknownMasterIsRefused: remove-master of an address that
// was never a member used to answer "removed"; it is refused, naming the
// group's masters, and the last master cannot be removed.
func TestRemovingAnUnknownMasterIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m1 := startLoneMaster(t)
		ep, err := g.net.Listen("")
		require.NoError(t, err)
		resp := adminTo(t, ep, "m1", &wire.AdminRequest{ID: 1, Op: wire.AdminRemoveMaster, Member: chain.Member{ID: "m9"}})
		require.NotNil(t, resp.Err, "accepted")
		require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
		require.Equal(t, "no master m9 in the group (its masters: m1)", resp.Err.Message)
		resp = adminTo(t, ep, "m1", &wire.AdminRequest{ID: 2, Op: wire.AdminRemoveMaster, Member: chain.Member{ID: "m1"}})
		require.NotNil(t, resp.Err, "accepted")
		require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
		require.Equal(t, "m1 is the group's last master", resp.Err.Message)
		require.Equal(t, []string{"m1"}, masterIDs(t, m1))
	})
}

// TestRemovalThatCostsTheQuorumIsRefused: in a group of three with one
// master down, removing a live one would leave two voters of which one
// answers, and is refused with the reason; removing the dead one is not.
func TestRemovalThatCostsTheQuorumIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := startGroup(t, 3, 1)
		l := g.leader()
		var live, dead string
		for _, a := range masterAddrs(3) {
			switch {
			case a == l.Addr():
			case dead == "":
				dead = a
			default:
				live = a
			}
		}
		g.killMaster(dead)
		servers, err := l.servers()
		require.NoError(t, err)
		_, ok := g.waitFor(5*bubbleTimeout, func() bool { return !l.reachable(servers)(raft.ServerID(dead)) })
		require.True(t, ok, "the leader still counts %s reachable", dead)

		err = l.RemoveMaster(live)
		require.ErrorIs(t, err, chain.ErrInvalidConfig)
		require.Equal(t, "removing "+live+" would cost the group its quorum: 1 of its 2 voters would be reachable ("+dead+" not), short of 2",
			refusalDetail(t, err))
		require.Len(t, masterIDs(t, l), 3)

		require.NoError(t, l.RemoveMaster(dead))
		require.Len(t, masterIDs(t, l), 2)
		_, err = l.RemoveNode("n1")
		require.ErrorIs(t, err, chain.ErrInvalidConfig, "the last member") // the group still decides
	})
}

// TestAddNodeAtAMalformedAddressIsRefused: with Options.CheckAddr (chaind
// gives CheckTCPAddr), add-node n9 notanaddr used to be accepted; it is
// refused with the reason, and nothing changes.
func TestAddNodeAtAMalformedAddressIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := startLoneMaster(t)
		require.NoError(t, g.masters["m1"].Close())
		delete(g.masters, "m1")
		m1 := g.startMaster("m1", Options{Config: g.cfg, CheckAddr: CheckTCPAddr})
		ep, err := g.net.Listen("")
		require.NoError(t, err)
		before := m1.Config()
		resp := adminTo(t, ep, "m1", &wire.AdminRequest{ID: 1, Op: wire.AdminAddNode, Member: chain.Member{ID: "n9", Addr: "notanaddr"}})
		require.NotNil(t, resp.Err, "accepted")
		require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
		require.Equal(t, `address "notanaddr" is not host:port`, resp.Err.Message)
		resp = adminTo(t, ep, "m1", &wire.AdminRequest{ID: 2, Op: wire.AdminAddMaster, Member: chain.Member{ID: "m9", Addr: "notanaddr"}})
		require.NotNil(t, resp.Err, "accepted")
		require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
		require.Equal(t, `address "m9" is not host:port`, resp.Err.Message)
		require.Equal(t, before, m1.Config())
		_, err = m1.AddNode(chain.Member{ID: "n9", Addr: "127.0.0.1:7009"})
		require.NoError(t, err)
	})
}
