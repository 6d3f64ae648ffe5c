package chaintest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// epochWatch records, every millisecond, the configuration each running
// node has adopted: no two may share an epoch.
type epochWatch struct {
	mu   sync.Mutex
	seen map[uint64]chain.Config
	bad  []string
}

func watchEpochs(c *Cluster) (*epochWatch, func()) {
	w := &epochWatch{seen: map[uint64]chain.Config{}}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			for i := range c.Nodes() {
				if n := c.Node(i); n != nil {
					w.record(n.ID(), n.Config())
				}
			}
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	return w, func() { close(done); <-finished }
}

func (w *epochWatch) record(id string, cfg chain.Config) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.seen[cfg.Epoch]; ok && !sameConfig(old, cfg) {
		w.bad = append(w.bad, fmt.Sprintf("%s adopted epoch %d as %v, seen as %v", id, cfg.Epoch, cfg, old))
	}
	w.seen[cfg.Epoch] = cfg
}

func sameConfig(a, b chain.Config) bool {
	return a.Epoch == b.Epoch && slices.Equal(a.Members, b.Members) &&
		(a.Joining == nil) == (b.Joining == nil) && (a.Joining == nil || *a.Joining == *b.Joining)
}

func memberIDs(cfg chain.Config) []string {
	var ids []string
	for _, m := range cfg.Members {
		ids = append(ids, m.ID)
	}
	return ids
}

// TestMasterGroupSurvivesItsLeader runs a chain under a group of three
// masters, kills a node and, while its failure is being detected, the
// leading master: another master leads, removes the node, writes continue
// through a client that knows every master, and no two configurations
// the nodes adopt share an epoch.
func TestMasterGroupSurvivesItsLeader(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Masters: 3, FailureTimeout: 200 * time.Millisecond})
	require.Equal(t, []string{"master", "master2", "master3"}, c.MasterAddrs())
	stopInv := c.WatchInvariants(time.Millisecond)
	w, stopWatch := watchEpochs(c)
	cl := c.Client(chain.WithRetryInterval(5*time.Millisecond, 50*time.Millisecond))

	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			actx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := cl.Append(actx, fmt.Appendf(nil, "w%d", i))
			cancel()
			if err == nil {
				mu.Lock()
				acked++
				mu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return acked }
	require.Eventually(t, func() bool { return ackedNow() > 10 }, 5*time.Second, time.Millisecond, "no writes")

	// Under load the group may be between leaders at any instant (raft's
	// heartbeats run in real time): wait for one to lead.
	old := -1
	require.Eventually(t, func() bool { old = c.LeaderMaster(); return old >= 0 },
		10*time.Second, time.Millisecond, "no master leads")
	epoch := c.Config().Epoch
	c.Kill(1)
	time.Sleep(100 * time.Millisecond) // half the failure timeout: detecting
	c.KillMaster(old)

	require.Eventually(t, func() bool {
		l := c.LeaderMaster()
		return l >= 0 && l != old && slices.Equal(memberIDs(c.Config()), []string{"n1", "n3"})
	}, 10*time.Second, time.Millisecond, "the new leader never removed n2")
	require.Greater(t, c.Config().Epoch, epoch, "the configuration went back")
	before := ackedNow()
	require.Eventually(t, func() bool { return ackedNow() > before+20 }, 10*time.Second, time.Millisecond, "writes stopped")

	// The new leader takes a node back in.
	c.Restart(1)
	require.Eventually(t, func() bool { return len(c.Config().Members) == 3 && c.Config().Joining == nil },
		10*time.Second, time.Millisecond, "n2 never rejoined")
	before = ackedNow()
	require.Eventually(t, func() bool { return ackedNow() > before+20 }, 10*time.Second, time.Millisecond, "writes stopped")
	stop()
	<-done
	stopWatch()
	require.Zero(t, stopInv())
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Empty(t, w.bad)
	t.Logf("%d writes acknowledged; epochs adopted: %v", ackedNow(), slices.Sorted(func(yield func(uint64) bool) {
		for e := range w.seen {
			if !yield(e) {
				return
			}
		}
	}))
}

// TestOneMasterByDefault keeps Options.Master as it was: one master at
// MasterAddr.
func TestOneMasterByDefault(t *testing.T) {
	c := Start(t, Options{Nodes: 2, Master: true})
	require.Equal(t, []string{MasterAddr}, c.MasterAddrs())
	require.Equal(t, 0, c.LeaderMaster())
	require.Equal(t, MasterAddr, c.Master().Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Client().Append(ctx, []byte("x"))
	require.NoError(t, err)
	c.KillMaster(0)
	require.Nil(t, c.Master())
	require.Equal(t, -1, c.LeaderMaster())
}
