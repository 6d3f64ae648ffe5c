package chain_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

func masterChain(t *testing.T, seed int64, nodes int) *chaintest.Cluster {
	return chaintest.Start(t, chaintest.Options{
		Nodes: nodes, Seed: seed, Master: true, FailureTimeout: failureTimeout,
		NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
		ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 40*time.Millisecond)},
	})
}

const failureTimeout = 200 * time.Millisecond

// underLoad is a 3-node chain started by masterChain, with its invariants
// watched, under a log workload of 4 clients.
type underLoad struct {
	*logWorkload
	c         *chaintest.Cluster
	seed      int64
	stopWatch func() int
}

// workloadPace is how long each client of startUnderLoad waits between
// operations, in virtual time: four clients make some 4,000 operations a
// second.
const workloadPace = time.Millisecond

// startUnderLoad starts the chain and its workload on the run's first
// seed (see runSeeds), and returns once the chain serves (the master
// confirms the nodes' places some 100 ms after they start), so that the
// faults meet a chain under load. It must run in a synctest bubble (see
// underLoadTest): the failure timeout is short, and in real time a busy
// machine delays heartbeats past it.
func startUnderLoad(t *testing.T) (*chaintest.Cluster, *underLoad) {
	seed := runSeeds(t)[0]
	c := masterChain(t, seed, 3)
	stopWatch := c.WatchInvariants(2 * time.Millisecond)
	w := &underLoad{logWorkload: startLogWorkload(c, seed, 4, 100000, workloadPace), c: c, seed: seed, stopWatch: stopWatch}
	w.recoveryTime(t, time.Time{}) // the first write acknowledged
	return c, w
}

// underLoadTest runs f in a synctest bubble, in virtual time, with a
// chain and workload from startUnderLoad.
func underLoadTest(t *testing.T, f func(t *testing.T, c *chaintest.Cluster, w *underLoad)) {
	synctest.Test(t, func(t *testing.T) {
		c, w := startUnderLoad(t)
		f(t, c, w)
	})
}

// finish stops the workload and checks its history and the chain's
// invariants (see logWorkload.finish).
func (u *underLoad) finish(t *testing.T) {
	t.Helper()
	u.logWorkload.finish(t, u.c, u.stopWatch, u.seed)
}

// TestFailover kills the head, a middle node or the tail of a 3-node chain
// under load: the master removes it, the chain serves again, nothing
// acknowledged is lost and the history is linearizable. It logs the time
// from the failure to the first write acknowledged after it.
func TestFailover(t *testing.T) {
	for victim, role := range []string{"head", "middle", "tail"} {
		t.Run(role, func(t *testing.T) {
			underLoadTest(t, func(t *testing.T, c *chaintest.Cluster, w *underLoad) {
				time.Sleep(100 * time.Millisecond)
				failedAt := time.Now()
				c.Kill(victim)
				took := w.recoveryTime(t, failedAt)
				t.Logf("%s failure: first write acknowledged %v after it (failure timeout %v)", role, took.Round(time.Millisecond), failureTimeout)
				time.Sleep(100 * time.Millisecond)
				w.finish(t)
				cfg := c.Config()
				require.Len(t, cfg.Members, 2, "seed %d", w.seed)
				require.Greater(t, cfg.Epoch, uint64(1))
			})
		})
	}
}

// TestSeveralFailuresDownToOne kills two of three nodes at once: the
// survivor serves alone.
func TestSeveralFailuresDownToOne(t *testing.T) {
	for _, survivor := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("survivor=%d", survivor), func(t *testing.T) {
			underLoadTest(t, func(t *testing.T, c *chaintest.Cluster, w *underLoad) {
				time.Sleep(100 * time.Millisecond)
				failedAt := time.Now()
				for i := range 3 {
					if i != survivor {
						c.Kill(i)
					}
				}
				took := w.recoveryTime(t, failedAt)
				t.Logf("two failures at once: first write acknowledged %v after them", took.Round(time.Millisecond))
				w.finish(t)
				cfg := c.Config()
				require.Len(t, cfg.Members, 1, "seed %d", w.seed)
				require.Equal(t, c.Config().Members[0].Addr, c.Addr(survivor))
			})
		})
	}
}

// TestAddNodeDuringWrites adds a fourth node while clients write: it
// catches up by pulling and becomes the tail.
func TestAddNodeDuringWrites(t *testing.T) {
	underLoadTest(t, func(t *testing.T, c *chaintest.Cluster, w *underLoad) {
		time.Sleep(100 * time.Millisecond)
		added := c.AddNode()
		require.Eventually(t, func() bool {
			cfg := c.Config()
			return len(cfg.Members) == 4 && cfg.Tail().Addr == c.Addr(added)
		}, 20*time.Second, time.Millisecond, "the new node never became the tail")
		time.Sleep(100 * time.Millisecond)
		w.finish(t)
		require.Equal(t, chain.RoleTail, c.Node(added).Role())
	})
}

// TestFailedNodeRejoins kills a node, lets the master remove it, and
// restarts it: it rejoins behind the tail with its uncommitted suffix
// dropped, and the chain is back to three.
func TestFailedNodeRejoins(t *testing.T) {
	for victim, role := range []string{"head", "middle", "tail"} {
		t.Run(role, func(t *testing.T) {
			underLoadTest(t, func(t *testing.T, c *chaintest.Cluster, w *underLoad) {
				time.Sleep(50 * time.Millisecond)
				c.Kill(victim)
				require.Eventually(t, func() bool { return len(c.Config().Members) == 2 }, 20*time.Second, time.Millisecond)
				time.Sleep(50 * time.Millisecond)
				c.Restart(victim)
				require.Eventually(t, func() bool {
					cfg := c.Config()
					return len(cfg.Members) == 3 && cfg.Tail().Addr == c.Addr(victim)
				}, 20*time.Second, time.Millisecond, "the restarted node never rejoined as the tail")
				time.Sleep(50 * time.Millisecond)
				w.finish(t)
			})
		})
	}
}

// TestIsolatedNodesAreReplaced cuts one node off the network (master
// included) for longer than the failure timeout, then heals: the master
// replaces it, the isolated node fences itself, and it rejoins after the
// heal.
func TestIsolatedNodesAreReplaced(t *testing.T) {
	for victim, role := range []string{"head", "middle", "tail"} {
		t.Run(role, func(t *testing.T) {
			underLoadTest(t, func(t *testing.T, c *chaintest.Cluster, w *underLoad) {
				time.Sleep(50 * time.Millisecond)
				c.Network().Isolate(c.Addr(victim))
				require.Eventually(t, func() bool { return len(c.Config().Members) == 2 }, 20*time.Second, time.Millisecond)
				time.Sleep(3 * failureTimeout / 2)
				c.Network().Heal()
				require.Eventually(t, func() bool { return len(c.Config().Members) == 3 }, 20*time.Second, time.Millisecond,
					"the isolated node never rejoined")
				time.Sleep(50 * time.Millisecond)
				w.finish(t)
			})
		})
	}
}

// TestIsolatedMasterChangesNothing cuts the master off: every node fences
// itself, the master removes nobody, and service resumes after the heal.
func TestIsolatedMasterChangesNothing(t *testing.T) {
	underLoadTest(t, func(t *testing.T, c *chaintest.Cluster, w *underLoad) {
		time.Sleep(50 * time.Millisecond)
		epoch := c.Config().Epoch
		c.Network().Isolate(chaintest.MasterAddr)
		time.Sleep(2 * failureTimeout)
		require.Eventually(t, func() bool {
			st := c.Node(2).Stats()
			return st.Refused > 0
		}, 20*time.Second, time.Millisecond, "the tail kept serving without the master")
		c.Network().Heal()
		healedAt := time.Now()
		took := w.recoveryTime(t, healedAt)
		t.Logf("master isolated for %v: first write acknowledged %v after the heal", 2*failureTimeout, took.Round(time.Millisecond))
		w.finish(t)
		require.Equal(t, epoch, c.Config().Epoch, "the master reconfigured while cut off")
	})
}

// TestMasterListFindsTheLiveMaster gives nodes and a client two master
// addresses, the first of which nothing answers at: they find the master
// at the second and the chain serves.
func TestMasterListFindsTheLiveMaster(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "a", Addr: "a"}, {ID: "b", Addr: "b"}}}
	m, err := master.Start(master.Options{Transport: net, Addr: "m2", Config: cfg, FailureTimeout: time.Second})
	require.NoError(t, err)
	defer m.Close()
	for _, id := range []string{"a", "b"} {
		n, err := chain.NewNode(id, chain.WithTransport(net), chain.WithStorage(memory.New()),
			chain.WithMaster("m1-nobody", "m2"), chain.WithConfig(cfg))
		require.NoError(t, err)
		require.NoError(t, n.Start(context.Background()))
		defer n.Close()
	}
	cl, err := chain.NewClient(chain.WithTransport(net), chain.WithMaster("m1-nobody", "m2"))
	require.NoError(t, err)
	defer cl.Close()
	off, err := cl.Append(testCtx(t), []byte("x"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), off)
	require.Equal(t, cfg.Members, cl.Config().Members)
}

// TestCutLinkBetweenLiveNeighboursReconfigures is issue 19: cutting only
// the link between two neighbours, both still in touch with the master
// and the clients, stalled every write for as long as the cut lasted. Now
// the downstream end fences itself after the failure timeout, reports the
// cut, and the master takes it out: a write begun at the cut is
// acknowledged within two failure timeouts, the removed node stops
// serving, and it rejoins once the link heals.
func TestCutLinkBetweenLiveNeighboursReconfigures(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name       string
		pred, succ int  // the link's ends, by node index
		down, up   bool // which ways are cut
	}{
		{"head-middle both ways", 0, 1, true, true},
		{"middle-tail, predecessor to successor", 1, 2, true, false},
		{"head-middle, successor to predecessor", 0, 1, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := chaintest.Start(t, chaintest.Options{Nodes: 3, Master: true, FailureTimeout: timeout})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cl := c.Client()
				_, err := cl.Append(ctx, []byte("before"))
				require.NoError(t, err)
				require.NoError(t, c.WaitConverged(ctx))
				epoch := c.Config().Epoch

				net := c.Network()
				var rules []inmem.RuleID
				from, to := c.Addr(tc.pred), c.Addr(tc.succ)
				if tc.down {
					id, err := net.AddRule(inmem.Rule{From: from, To: to, Faults: inmem.Faults{Drop: 1}})
					require.NoError(t, err)
					rules = append(rules, id)
				}
				if tc.up {
					id, err := net.AddRule(inmem.Rule{From: to, To: from, Faults: inmem.Faults{Drop: 1}})
					require.NoError(t, err)
					rules = append(rules, id)
				}
				// Writes go on (the predecessor sends a few responses more
				// when only the successor's pulls are lost), then stall
				// until the master reconfigures: one must be acknowledged
				// between one and two failure timeouts after the cut.
				cut := time.Now()
				wctx, wcancel := context.WithDeadline(ctx, cut.Add(2*timeout))
				for time.Since(cut) <= timeout {
					_, err = cl.Append(wctx, []byte("during"))
					require.NoError(t, err, "writes stalled for two failure timeouts after the cut")
				}
				wcancel()
				t.Logf("acknowledged %v after the cut", time.Since(cut))

				cfg := c.Config()
				victim := c.Node(tc.succ).ID()
				require.Greater(t, cfg.Epoch, epoch)
				// It may be back already, behind the tail, over a link that
				// works, but not behind the upstream end over the cut one.
				require.False(t, follows(cfg, victim, c.Node(tc.pred).ID()), "the downstream end %s still follows the upstream end: %v", victim, cfg.Members)
				require.True(t, slices.ContainsFunc(cfg.Members, func(m chain.Member) bool { return m.ID == c.Node(tc.pred).ID() }),
					"the upstream end left")

				for _, id := range rules {
					net.RemoveRule(id)
				}
				// Healed, the removed node rejoins as a new node and the
				// chain is whole again.
				for len(c.Config().Members) < 3 {
					select {
					case <-time.After(timeout / 10):
					case <-ctx.Done():
						t.Fatalf("the removed node did not rejoin: %v", c.Config())
					}
				}
				_, err = cl.Append(ctx, []byte("after"))
				require.NoError(t, err)
				require.NoError(t, c.WaitConverged(ctx))
				require.Empty(t, c.Violations())
			})
		})
	}
}

// follows reports whether the node with id succ comes right after the
// node with id pred in cfg's chain (its joining node included).
func follows(cfg chain.Config, succ, pred string) bool {
	ids := make([]string, 0, len(cfg.Members)+1)
	for _, m := range cfg.Members {
		ids = append(ids, m.ID)
	}
	if cfg.Joining != nil {
		ids = append(ids, cfg.Joining.ID)
	}
	i := slices.Index(ids, pred)
	return i >= 0 && i+1 < len(ids) && ids[i+1] == succ
}
