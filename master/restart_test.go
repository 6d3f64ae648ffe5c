package master

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// TestRestartedNodeWithAnEmptyLog restarts a node on an empty storage
// (chaind without -data restarted by a supervisor) before the master
// noticed it was gone: its heartbeats say it lost committed entries, so it
// must not serve as a member; it rejoins as a new node.
func TestRestartedNodeWithAnEmptyLog(t *testing.T) {
	for _, victim := range []string{"n1", "n2", "n3"} {
		t.Run(victim, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := startTestChain(t, 3)
				cl := c.client()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for i := range 5 {
					_, err := cl.Append(ctx, []byte{byte(i)})
					require.NoError(t, err)
				}
				time.Sleep(time.Second) // every node has heartbeated its commit point
				require.NoError(t, c.nodes[victim].Close())
				time.Sleep(200 * time.Millisecond)
				c.startNode(victim, chain.WithConfig(c.cfg))
				synctest.Wait()
				off, err := cl.Latest(ctx)
				require.NoError(t, err)
				require.Equal(t, uint64(5), off, "the commit point went back")
				ents, err := cl.Read(ctx, 1, 10)
				require.NoError(t, err)
				require.Len(t, ents, 5, "committed entries lost")
				off, err = cl.Append(ctx, []byte("after"))
				require.NoError(t, err)
				require.Equal(t, uint64(6), off)
				_, ok := waitFor(5*time.Second, func() bool {
					cfg := c.master.Config()
					return len(cfg.Members) == 3 && cfg.Joining == nil && c.nodes[victim].Stats().CommitPoint == 6
				})
				require.True(t, ok, "%+v", c.master.Config())
				ents, err = cl.Read(ctx, 1, 10)
				require.NoError(t, err)
				require.Len(t, ents, 6, "committed entries lost")
			})
		})
	}
}

// TestRestartedMasterAdoptsTheChainsConfiguration restarts the master
// without its state (defect 10 of issue 12: it was "behind the chain"
// forever and the chain stayed fenced): it starts from its initial
// configuration, below the chain's, adopts the configuration the nodes
// report in their heartbeats, and runs the chain from there: the member
// of its initial configuration that the chain lacks rejoins (the master
// no longer knows it was removed), and a client writes again.
func TestRestartedMasterAdoptsTheChainsConfiguration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		_, err := c.master.RemoveNode("n2") // epoch 2: n1, n3
		require.NoError(t, err)
		synctest.Wait()
		require.NoError(t, c.master.Close())
		m, err := Start(Options{Transport: c.net, Addr: masterAddr, Config: c.cfg, FailureTimeout: bubbleTimeout})
		require.NoError(t, err)
		c.master = m
		_, ok := waitFor(bubbleTimeout, func() bool { return m.Config().Epoch >= 2 })
		require.True(t, ok, "the master did not adopt the chain's configuration: %+v", m.Config())
		require.Equal(t, []string{"n1", "n3"}, memberIDs(m.Config()))

		_, ok = waitFor(3*bubbleTimeout, func() bool { return len(m.Config().Members) == 3 })
		require.True(t, ok, "%+v", m.Config())
		require.Equal(t, []string{"n1", "n3", "n2"}, memberIDs(m.Config()))
		require.Equal(t, uint64(4), m.Config().Epoch) // n2 joined at 3, was promoted at 4
		cl := c.client()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cl.Append(ctx, []byte("after"))
		require.NoError(t, err)
	})
}
