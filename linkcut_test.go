package chain_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
)

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
				require.False(t, cfg.Role(victim).IsMember(), "the downstream end %s is still a member: %v", victim, cfg.Members)
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
