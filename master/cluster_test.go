package master

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// testCluster drives a cluster's working state with explicit times, as the
// leader would: servers beat, every replica on a live server heartbeats at
// its chain's epoch, complete and caught up, and the detector ticks every
// 100ms.
type testCluster struct {
	t    *testing.T
	cl   *cluster
	dead map[string]bool // servers that stopped
}

func newTestCluster(t *testing.T, chains, replicas int) *testCluster {
	d := durable{Plan: plan{Chains: chains, Replicas: replicas}}
	return &testCluster{t: t, cl: newCluster(d, timeout, t0), dead: map[string]bool{}}
}

// step runs one 100ms step at d with the given servers alive.
func (tc *testCluster) step(d time.Duration, servers ...string) bool {
	now := at(d)
	for _, srv := range servers {
		if tc.dead[srv] {
			continue
		}
		tc.cl.serverBeat(&wire.ServerBeat{ID: srv, Addr: srv + ":addr"}, now)
		for _, s := range tc.cl.chains {
			for _, id := range s.replicaIDs() {
				if serverOf(id) != srv {
					continue
				}
				s.heartbeat(&wire.Heartbeat{Chain: s.id, ID: id, Addr: wire.ReplicaAddr(srv+":addr", s.id),
					Epoch: s.cfg.Epoch, Last: 10, Commit: 10, Complete: s.cfg.Role(id).IsMember()}, now)
			}
		}
	}
	return tc.cl.tick(now)
}

// run steps from one time to another.
func (tc *testCluster) run(from, to time.Duration, servers ...string) {
	for d := from; d <= to; d += ms(100) {
		tc.step(d, servers...)
	}
}

// placement returns, for every chain, the servers of its members.
func (tc *testCluster) placement() map[string][]string {
	out := map[string][]string{}
	for _, s := range tc.cl.chains {
		for _, m := range s.cfg.Members {
			out[s.id] = append(out[s.id], serverOf(m.ID))
		}
	}
	return out
}

// checkSpread checks that no server holds two replicas of one chain.
func (tc *testCluster) checkSpread() {
	for id, servers := range tc.placement() {
		seen := map[string]bool{}
		for _, srv := range servers {
			require.False(tc.t, seen[srv], "chain %s has two replicas on %s", id, srv)
			seen[srv] = true
		}
	}
}

func servers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("s%d", i+1)
	}
	return out
}

func TestClusterCreatesChainsOnceEnoughServersReport(t *testing.T) {
	tc := newTestCluster(t, 8, 3)
	tc.run(0, ms(300), "s1", "s2")
	require.Empty(t, tc.cl.chains, "two servers cannot hold three replicas apart")
	tc.run(ms(400), ms(1000), servers(6)...)
	require.Len(t, tc.cl.chains, 8)
	var lo uint32
	for i, s := range tc.cl.chains {
		require.Equal(t, fmt.Sprintf("c%d", i), s.id)
		require.Equal(t, lo, s.slotLo, "slots are contiguous")
		require.Greater(t, s.slotHi, s.slotLo)
		lo = s.slotHi
		require.Len(t, s.cfg.Members, 3)
		require.NoError(t, s.cfg.Validate())
	}
	require.Equal(t, uint32(wire.Slots), lo, "every slot has a chain")
	tc.checkSpread()
}

func TestClusterSpreadsReplicasEvenly(t *testing.T) {
	tc := newTestCluster(t, 8, 3)
	tc.run(0, ms(1000), servers(6)...)
	loads := tc.cl.loads()
	for srv, n := range loads {
		require.Equal(t, 4, n, "server %s: 24 replicas over 6 servers", srv)
	}
}

func TestClusterReplacesReplicasOfADeadServer(t *testing.T) {
	tc := newTestCluster(t, 8, 3)
	all := servers(6)
	tc.run(0, ms(1000), all...)
	var onS1 []string
	for id, srvs := range tc.placement() {
		if slices.Contains(srvs, "s1") {
			onS1 = append(onS1, id)
		}
	}
	require.NotEmpty(t, onS1)
	tc.dead["s1"] = true
	tc.run(ms(1100), ms(6000), all...)
	for _, s := range tc.cl.chains {
		require.Len(t, s.cfg.Members, 3, "chain %s is back to its length", s.id)
		require.Nil(t, s.cfg.Joining)
		for _, m := range s.cfg.Members {
			require.NotEqual(t, "s1", serverOf(m.ID), "chain %s", s.id)
		}
		for id := range s.standby {
			require.NotEqual(t, "s1", serverOf(id), "standby of chain %s", s.id)
		}
	}
	tc.checkSpread()
	require.Zero(t, tc.cl.loads()["s1"])
}

func TestClusterMovesReplicasToANewServer(t *testing.T) {
	tc := newTestCluster(t, 8, 3)
	tc.run(0, ms(1000), servers(6)...)
	tc.run(ms(1100), ms(20000), servers(7)...)
	loads := tc.cl.loads()
	lo, hi := 100, 0
	for _, n := range loads {
		lo, hi = min(lo, n), max(hi, n)
	}
	require.LessOrEqual(t, hi-lo, 1, "loads even out: %v", loads)
	require.Positive(t, loads["s7"])
	for _, s := range tc.cl.chains {
		require.Len(t, s.cfg.Members, 3, "chain %s keeps its length", s.id)
		require.Equal(t, 3, s.target)
		require.Empty(t, s.standby)
	}
	require.Empty(t, tc.cl.moves)
	tc.checkSpread()
}

func TestClusterReplicasOfAServer(t *testing.T) {
	tc := newTestCluster(t, 4, 2)
	tc.run(0, ms(500), servers(4)...)
	d := tc.cl.durable()
	total := 0
	for _, srv := range servers(4) {
		rs := d.replicas(srv)
		total += len(rs)
		for _, r := range rs {
			require.Equal(t, srv, serverOf(r.Member.ID))
			require.Equal(t, wire.ReplicaAddr(srv+":addr", r.Chain), r.Member.Addr)
		}
	}
	require.Equal(t, 8, total)
	layout := d.layout(tc.cl, at(ms(500)))
	require.Len(t, layout.Chains, 4)
	require.Len(t, layout.Servers, 4)
	for _, s := range layout.Servers {
		require.True(t, s.Alive)
		require.Equal(t, 2, s.Replicas)
	}
	ch, ok := layout.ChainOf(wire.SlotOf([]byte("some key")))
	require.True(t, ok)
	require.Len(t, ch.Config.Members, 2)
}

func TestFSMAcceptsPartitionedChanges(t *testing.T) {
	tc := newTestCluster(t, 2, 2)
	f := &fsm{}
	require.NoError(t, applyCmd(t, f, 0, durable{Plan: plan{Chains: 2, Replicas: 2}}).err)
	tc.run(0, ms(300), servers(3)...)
	d := tc.cl.durable()
	require.NoError(t, applyCmd(t, f, 1, d).err, "the chains are created")
	bad := d.clone()
	bad.Chains = bad.Chains[:1]
	require.ErrorIs(t, applyCmd(t, f, 2, bad).err, errConflict, "chains never disappear")
	bad = d.clone()
	bad.Chains[1].Config.Epoch += 2
	require.ErrorIs(t, applyCmd(t, f, 2, bad).err, errConflict)
	good := d.clone()
	good.Chains[0].Config.Epoch++
	good.Chains[0].Config.Members = good.Chains[0].Config.Members[:1]
	require.NoError(t, applyCmd(t, f, 2, good).err)
}

// TestClusterReplacesADeadReplicaOnALiveServer stops one replica's node
// while its server keeps reporting: the chain gets a replacement on
// another server instead of waiting for a node that never comes back.
func TestClusterReplacesADeadReplicaOnALiveServer(t *testing.T) {
	tc := newTestCluster(t, 1, 3)
	all := servers(4)
	tc.run(0, ms(500), all...)
	s := tc.cl.chains[0]
	victim := s.cfg.Members[1].ID
	// Every replica heartbeats but the victim, whose server still beats.
	for d := ms(600); d <= ms(5000); d += ms(100) {
		now := at(d)
		for _, srv := range all {
			tc.cl.serverBeat(&wire.ServerBeat{ID: srv, Addr: srv + ":addr"}, now)
		}
		for _, id := range s.replicaIDs() {
			if id == victim {
				continue
			}
			srv := serverOf(id)
			s.heartbeat(&wire.Heartbeat{Chain: s.id, ID: id, Addr: wire.ReplicaAddr(srv+":addr", s.id),
				Epoch: s.cfg.Epoch, Last: 10, Commit: 10, Complete: s.cfg.Role(id).IsMember()}, now)
		}
		tc.cl.tick(now)
	}
	require.Len(t, s.cfg.Members, 3)
	for _, m := range s.cfg.Members {
		require.NotEqual(t, victim, m.ID)
	}
	tc.checkSpread()
}

// TestClusterMoveEndsWhicheverReplicaJoins starts a move whose new replica
// never reports while another standby replica of the chain joins: the
// move ends with the chain back at its length, the replica moved away
// removed and the silent one dropped; and while the new replica's server
// has time to start it, no other replacement is placed.
func TestClusterMoveEndsWhicheverReplicaJoins(t *testing.T) {
	tc := newTestCluster(t, 8, 3)
	tc.run(0, ms(1000), servers(6)...)
	now := ms(1100)
	tc.step(now, servers(7)...)
	require.NotEmpty(t, tc.cl.moves, "the new server takes replicas")
	mv := tc.cl.moves[0]
	s := tc.cl.chain(mv.Chain)
	require.Len(t, s.standby, 1, "one new replica, no replacement beside it")
	require.Contains(t, s.standby, mv.To)
	// Another server's replica of the chain shows up as standby and
	// heartbeats; the move's own replica stays silent.
	var other string
	for _, srv := range servers(6) {
		if !slices.ContainsFunc(s.replicaIDs(), func(id string) bool { return serverOf(id) == srv }) {
			other = srv + "/" + s.id
			break
		}
	}
	require.NotEmpty(t, other)
	s.standby[other] = tc.cl.replica(serverOf(other), s.id)
	silent := map[string]bool{mv.To: true}
	for d := now + ms(100); d <= now+ms(3000); d += ms(100) {
		at := at(d)
		for _, srv := range servers(7) {
			tc.cl.serverBeat(&wire.ServerBeat{ID: srv, Addr: srv + ":addr"}, at)
		}
		for _, cs := range tc.cl.chains {
			for _, id := range cs.replicaIDs() {
				if silent[id] {
					continue
				}
				cs.heartbeat(&wire.Heartbeat{Chain: cs.id, ID: id, Addr: wire.ReplicaAddr(serverOf(id)+":addr", cs.id),
					Epoch: cs.cfg.Epoch, Last: 10, Commit: 10, Complete: cs.cfg.Role(id).IsMember()}, at)
			}
		}
		tc.cl.tick(at)
		if !slices.Contains(tc.cl.moves, mv) {
			break
		}
	}
	require.NotContains(t, tc.cl.moves, mv, "the move ended")
	require.Len(t, s.cfg.Members, 3)
	require.False(t, slices.ContainsFunc(s.cfg.Members, func(m chain.Member) bool { return m.ID == mv.From }))
	target := 3
	if slices.ContainsFunc(tc.cl.moves, func(m move) bool { return m.Chain == mv.Chain }) {
		target = 4 // the chain moves again
	}
	require.Equal(t, target, s.target)
	tc.checkSpread()
}

// TestClusterMoveOutlivesItsNewServer starts moves to a new server that
// then dies: the replacements placed for the moves' new replicas finish
// them, and every chain ends at its length, with no extra member, no
// standby replica and no move left.
func TestClusterMoveOutlivesItsNewServer(t *testing.T) {
	tc := newTestCluster(t, 8, 3)
	tc.run(0, ms(1000), servers(6)...)
	tc.step(ms(1100), servers(7)...)
	require.NotEmpty(t, tc.cl.moves, "the new server takes replicas")
	// s7 beats but its replicas stay silent, long enough for replacements
	// to be placed and to start joining; then s7 dies.
	for d := ms(1200); d <= ms(4000); d += ms(100) {
		now := at(d)
		for _, srv := range servers(7) {
			tc.cl.serverBeat(&wire.ServerBeat{ID: srv, Addr: srv + ":addr"}, now)
		}
		for _, s := range tc.cl.chains {
			for _, id := range s.replicaIDs() {
				if srv := serverOf(id); srv != "s7" {
					s.heartbeat(&wire.Heartbeat{Chain: s.id, ID: id, Addr: wire.ReplicaAddr(srv+":addr", s.id),
						Epoch: s.cfg.Epoch, Last: 10, Commit: 10, Complete: s.cfg.Role(id).IsMember()}, now)
				}
			}
		}
		tc.cl.tick(now)
	}
	tc.dead["s7"] = true
	tc.run(ms(4100), ms(20000), servers(7)...)
	require.Empty(t, tc.cl.moves)
	for _, s := range tc.cl.chains {
		require.Len(t, s.cfg.Members, 3, "chain %s: %v", s.id, s.replicaIDs())
		require.Equal(t, 3, s.target, "chain %s", s.id)
		require.Empty(t, s.standby, "chain %s", s.id)
		require.Nil(t, s.cfg.Joining, "chain %s", s.id)
		for _, m := range s.cfg.Members {
			require.NotEqual(t, "s7", serverOf(m.ID), "chain %s", s.id)
		}
	}
	tc.checkSpread()
}

// TestClusterConvergesToThePlannedLength: a chain made one member too long
// by hand (AddNode, which also raises its target) is trimmed back to the
// plan's length, losing the member on the busiest server, and a chain
// whose target fell below the plan gets it back and a replacement.
func TestClusterConvergesToThePlannedLength(t *testing.T) {
	tc := newTestCluster(t, 2, 3)
	all := servers(5)
	tc.run(0, ms(1000), all...)
	long, short := tc.cl.chains[0], tc.cl.chains[1]
	var spare string
	for _, srv := range all {
		if !slices.ContainsFunc(long.replicaIDs(), func(id string) bool { return serverOf(id) == srv }) {
			spare = srv
			break
		}
	}
	require.NoError(t, long.addNode(tc.cl.replica(spare, long.id)))
	short.target = 2

	tc.run(ms(1100), ms(5000), all...)
	for _, s := range tc.cl.chains {
		require.Len(t, s.cfg.Members, 3, "chain %s: %v", s.id, s.replicaIDs())
		require.Equal(t, 3, s.target, "chain %s", s.id)
		require.Empty(t, s.standby, "chain %s", s.id)
	}
	require.Empty(t, tc.cl.moves)
	tc.checkSpread()
}
