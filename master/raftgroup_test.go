package master

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
)

// startRaftGroup starts three masters whose raft runs on loopback TCP,
// for a chain of n1 and n2 that does not run, each with the options set
// adds for it, and returns them with their peers. The masters still open
// at the end of the test are closed then.
func startRaftGroup(t *testing.T, set func(o *Options, p Peer)) (map[string]*Master, []Peer) {
	t.Helper()
	return startRaftGroupOn(t, freeAddrs(t, 3), set)
}

// startRaftGroupOn is startRaftGroup with the masters' raft on raftAddrs.
func startRaftGroupOn(t *testing.T, raftAddrs []string, set func(o *Options, p Peer)) (map[string]*Master, []Peer) {
	t.Helper()
	net := inmem.New(inmem.Options{})
	t.Cleanup(func() { _ = net.Close() })
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
	var peers []Peer
	for i, a := range masterAddrs(3) {
		peers = append(peers, Peer{Addr: a, RaftAddr: raftAddrs[i]})
	}
	masters := map[string]*Master{}
	t.Cleanup(func() {
		for _, m := range masters {
			require.NoError(t, m.Close())
		}
	})
	for _, p := range peers {
		o := Options{Transport: net, Addr: p.Addr, Config: cfg, FailureTimeout: 200 * time.Millisecond,
			Peers: peers, RaftAddr: p.RaftAddr}
		set(&o, p)
		m, err := Start(o)
		require.NoError(t, err)
		masters[p.Addr] = m
	}
	return masters, peers
}

// awaitGroupLeader waits for a master of masters to lead and returns it.
// Leadership moves on its own in these groups (no node reports to the
// leader, so it hands the lead on after a failure timeout).
func awaitGroupLeader(t *testing.T, masters map[string]*Master) *Master {
	t.Helper()
	var l *Master
	require.Eventually(t, func() bool { l = groupLeader(masters); return l != nil }, 10*time.Second, 10*time.Millisecond, "no leader")
	return l
}

// groupLeader returns the master of masters that leads, or nil.
func groupLeader(masters map[string]*Master) *Master {
	for _, m := range masters {
		if m.IsLeader() {
			return m
		}
	}
	return nil
}

// awaitEpochEverywhere waits until every master of masters runs epoch.
func awaitEpochEverywhere(t *testing.T, masters map[string]*Master, epoch uint64) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, m := range masters {
			if m.Config().Epoch != epoch {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "epoch %d did not reach every master", epoch)
}

// removeN2 removes n2 from the chain at whichever master leads, asking
// again when the lead moved, and returns the configuration without it.
func removeN2(t *testing.T, masters map[string]*Master) chain.Config {
	t.Helper()
	var cfg chain.Config
	require.Eventually(t, func() bool {
		l := groupLeader(masters)
		if l == nil {
			return false
		}
		c, err := l.RemoveNode("n2")
		switch {
		case err == nil:
			cfg = c
		case errors.Is(err, ErrNotLeader):
			return false
		case strings.Contains(err.Error(), `no node "n2"`): // an earlier try committed it
			cfg = l.Config()
		default:
			require.NoError(t, err)
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "n2 never removed")
	return cfg
}
