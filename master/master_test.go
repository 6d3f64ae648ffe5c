package master

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The tests below run a master and real nodes on the in-memory transport
// inside a synctest bubble: time is virtual, so a failure timeout of one
// second costs nothing, and every duration they measure is exact. Nodes
// start at the bubble's time zero, so their heartbeats (every 100ms) and
// the master's ticks (every 100ms) fall on multiples of 100ms.

const (
	bubbleTimeout = time.Second
	masterAddr    = "master"
)

// testChain is a master and its nodes in a bubble.
type testChain struct {
	t      *testing.T
	net    *inmem.Network
	master *Master
	cfg    chain.Config
	nodes  map[string]*chain.Node
	logs   testutil.SyncBuffer // the master's log
}

// startTestChain starts a master and n nodes (n1..nN at addresses
// n1..nN) following it; everything is closed at the end of the test,
// inside the bubble.
func startTestChain(t *testing.T, n int) *testChain {
	t.Helper()
	c := &testChain{t: t, net: inmem.New(inmem.Options{}), cfg: chain.Config{Epoch: 1}, nodes: make(map[string]*chain.Node)}
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		c.cfg.Members = append(c.cfg.Members, chain.Member{ID: id, Addr: id})
	}
	t.Cleanup(c.close)
	m, err := Start(Options{Transport: c.net, Addr: masterAddr, Config: c.cfg, FailureTimeout: bubbleTimeout,
		Logger: slog.New(slog.NewTextHandler(&c.logs, nil))})
	require.NoError(t, err)
	c.master = m
	// The master took some virtual time to elect itself: start the nodes
	// at the next whole second, so their heartbeats fall on multiples of
	// 100ms (see alignToHeartbeat).
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	for _, mem := range c.cfg.Members {
		c.startNode(mem.ID, chain.WithConfig(c.cfg))
	}
	synctest.Wait() // the first heartbeats are answered: the master records the nodes' storage
	time.Sleep(bubbleTimeout / 10)
	synctest.Wait() // the next are answered with the master's confirmation: the nodes serve
	return c
}

func (c *testChain) startNode(id string, opts ...chain.NodeOption) *chain.Node {
	c.t.Helper()
	n, err := chain.NewNode(id, append([]chain.NodeOption{
		chain.WithTransport(c.net), chain.WithStorage(memory.New()), chain.WithMaster(masterAddr),
		chain.WithPollInterval(20 * time.Millisecond),
	}, opts...)...)
	require.NoError(c.t, err)
	require.NoError(c.t, n.Start(context.Background()))
	c.nodes[id] = n
	return n
}

func (c *testChain) close() {
	for _, n := range c.nodes {
		_ = n.Close()
	}
	if c.master != nil {
		require.NoError(c.t, c.master.Close())
	}
	_ = c.net.Close()
}

func (c *testChain) client() *chain.Client {
	c.t.Helper()
	cl, err := chain.NewClient(chain.WithTransport(c.net), chain.WithMaster(masterAddr),
		chain.WithRetryInterval(10*time.Millisecond, 100*time.Millisecond))
	require.NoError(c.t, err)
	c.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// waitFor polls cond every 10ms of virtual time, letting the bubble settle
// before each check, for at most limit; it returns how long it waited and
// whether cond held.
func waitFor(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for range int(limit / (10 * time.Millisecond)) {
		synctest.Wait()
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(10 * time.Millisecond)
	}
	synctest.Wait()
	return time.Since(start), cond()
}

// probe sends a request for the commit point to a node from a raw
// endpoint and returns the node's refusal, or nil if it answered. A node
// that is not the tail refuses with a redirect when it serves, and with
// CodeClosed ("fenced") when it has fenced itself.
type probe struct {
	ep chain.Endpoint
	id uint64
}

func newProbe(t *testing.T, net *inmem.Network) *probe {
	ep, err := net.Listen("probe")
	require.NoError(t, err)
	return &probe{ep: ep}
}

func (p *probe) ask(t *testing.T, addr string) (*wire.ClientResponse, bool) {
	t.Helper()
	p.id++
	require.NoError(t, p.ep.Send(context.Background(), addr, &wire.ClientRequest{Op: wire.OpLatest, ID: p.id}))
	synctest.Wait()
	for {
		select {
		case in := <-p.ep.Receive():
			resp, ok := in.Msg.(*wire.ClientResponse)
			if ok && resp.ID == p.id {
				return resp, true
			}
		default:
			return nil, false // no answer: the message was dropped
		}
	}
}

func fenced(resp *wire.ClientResponse) bool {
	return resp != nil && resp.Err != nil && resp.Err.Code == wire.CodeClosed && strings.Contains(resp.Err.Message, "fenced")
}

func memberIDs(cfg chain.Config) []string { return ids(cfg.Members) }

// alignToHeartbeat sleeps to the next whole second of virtual time and
// lets the heartbeats sent at that instant be answered, so a fault
// injected right after starts exactly at a node's last contact with the
// master.
func alignToHeartbeat() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	synctest.Wait()
}

// TestKilledNodeIsRemoved kills the head, a middle node or the tail: the
// master removes it one failure timeout after its last heartbeat, rounded
// up to its next tick, and the chain serves a client that follows the
// master.
func TestKilledNodeIsRemoved(t *testing.T) {
	for _, victim := range []string{"n1", "n2", "n3"} {
		t.Run(victim, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := startTestChain(t, 3)
				cl := c.client()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err := cl.Append(ctx, []byte("before"))
				require.NoError(t, err)

				alignToHeartbeat()
				killed := time.Now()
				require.NoError(t, c.nodes[victim].Close())
				took, ok := waitFor(3*time.Second, func() bool { return len(c.master.Config().Members) == 2 })
				require.True(t, ok, "the killed node was never removed")
				t.Logf("%s removed %v after it was killed (failure timeout %v)", victim, took, bubbleTimeout)
				require.GreaterOrEqual(t, took, bubbleTimeout)
				require.LessOrEqual(t, took, bubbleTimeout+200*time.Millisecond)
				require.Equal(t, took, time.Since(killed))

				cfg := c.master.Config()
				require.Equal(t, uint64(2), cfg.Epoch)
				require.NotContains(t, memberIDs(cfg), victim)
				require.Regexp(t, `msg="configuration changed" .*epoch=2 reason=node_failed cause="`+victim+` failed: no heartbeat for 1\.\d+s"`,
					c.logs.String(), "the master logs the cause of the change")
				for id, n := range c.nodes {
					if id != victim {
						require.Equal(t, uint64(2), n.Config().Epoch, "node %s did not adopt the new configuration", id)
					}
				}
				// The client learns the new chain from the master and writes
				// go on; the entry written before the failure is still there.
				off, err := cl.Append(ctx, []byte("after"))
				require.NoError(t, err)
				require.Equal(t, uint64(2), off)
				ents, err := cl.Read(ctx, 1, 10)
				require.NoError(t, err)
				require.Len(t, ents, 2)
				require.Equal(t, "before", string(ents[0].Data))
			})
		})
	}
}

// TestPartitionedNodeFencesItself cuts one node off from the master and
// the other nodes, but not from clients: it refuses clients ("fenced")
// half a failure timeout after its last contact with the master, the
// master removes it a failure timeout after its last heartbeat, and after
// the heal it rejoins as the tail.
func TestPartitionedNodeFencesItself(t *testing.T) {
	for _, victim := range []string{"n1", "n2", "n3"} {
		t.Run(victim, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := startTestChain(t, 3)
				p := newProbe(t, c.net)
				// A started node serves once the master has confirmed its
				// place, a heartbeat or so after the chain first serves.
				_, ok := waitFor(time.Second, func() bool {
					resp, ok := p.ask(t, victim)
					return ok && !fenced(resp)
				})
				require.True(t, ok, "%s fenced before any fault", victim)

				alignToHeartbeat()
				cut := time.Now()
				others := []string{masterAddr}
				for _, m := range c.cfg.Members {
					if m.ID != victim {
						others = append(others, m.Addr)
					}
				}
				c.net.Partition([]string{victim}, others)
				refusedBefore := c.nodes[victim].Stats().Refused

				var fencedAfter time.Duration
				took, ok := waitFor(3*time.Second, func() bool {
					if fencedAfter == 0 {
						if resp, _ := p.ask(t, victim); fenced(resp) {
							fencedAfter = time.Since(cut)
						}
					}
					return len(c.master.Config().Members) == 2
				})
				require.True(t, ok, "the partitioned node was never removed")
				t.Logf("%s fenced itself %v after the partition, removed %v after it", victim, fencedAfter, took)
				require.Greater(t, fencedAfter, bubbleTimeout/2, "fenced before half the failure timeout")
				require.LessOrEqual(t, fencedAfter, bubbleTimeout/2+20*time.Millisecond)
				require.GreaterOrEqual(t, took, bubbleTimeout)
				require.LessOrEqual(t, took, bubbleTimeout+200*time.Millisecond)
				require.Greater(t, c.nodes[victim].Stats().Refused, refusedBefore)
				// The node was fenced before it was replaced: it never served
				// under the configuration the others left.
				require.Less(t, fencedAfter, took)

				// The rest of the chain serves.
				cl := c.client()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err := cl.Append(ctx, []byte("without "+victim))
				require.NoError(t, err)

				// After the heal the node hears it was removed, rejoins
				// behind the tail, catches up and becomes the tail.
				c.net.Heal()
				took, ok = waitFor(5*time.Second, func() bool {
					cfg := c.master.Config()
					return len(cfg.Members) == 3 && cfg.Tail().ID == victim
				})
				require.True(t, ok, "the node never rejoined: %+v", c.master.Config())
				t.Logf("%s rejoined as the tail %v after the heal", victim, took)
				_, ok = waitFor(time.Second, func() bool { return c.nodes[victim].Role() == chain.RoleTail })
				require.True(t, ok)
				ents, err := cl.Read(ctx, 1, 10)
				require.NoError(t, err)
				require.Len(t, ents, 1)
			})
		})
	}
}

// TestIsolatedNodeIsRemoved isolates a node entirely (Network.Isolate):
// the master removes it after the failure timeout.
func TestIsolatedNodeIsRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		alignToHeartbeat()
		c.net.Isolate("n2")
		took, ok := waitFor(3*time.Second, func() bool { return len(c.master.Config().Members) == 2 })
		require.True(t, ok)
		require.GreaterOrEqual(t, took, bubbleTimeout)
		require.LessOrEqual(t, took, bubbleTimeout+200*time.Millisecond)
		require.Equal(t, []string{"n1", "n3"}, memberIDs(c.master.Config()))
		// The isolated node never heard of it.
		require.Equal(t, uint64(1), c.nodes["n2"].Config().Epoch)
	})
}

// TestIsolatedMasterRemovesNobody cuts the master off: every node fences
// itself after half the failure timeout, the master changes nothing for as
// long as it is cut off, and after the heal the chain serves again under
// the same configuration.
func TestIsolatedMasterRemovesNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		p := newProbe(t, c.net)
		alignToHeartbeat()
		c.net.Isolate(masterAddr)
		time.Sleep(bubbleTimeout/2 + 10*time.Millisecond)
		for _, m := range c.cfg.Members {
			resp, ok := p.ask(t, m.Addr)
			require.True(t, ok)
			require.True(t, fenced(resp), "%s still serves without the master: %+v", m.ID, resp)
		}
		time.Sleep(10 * bubbleTimeout)
		synctest.Wait()
		require.Equal(t, c.cfg, c.master.Config(), "the master reconfigured while cut off")

		c.net.Heal()
		healed := time.Now()
		took, ok := waitFor(time.Second, func() bool {
			resp, _ := p.ask(t, "n3")
			return resp != nil && resp.Err == nil
		})
		require.True(t, ok, "the tail did not serve again after the heal")
		t.Logf("the tail served again %v after the heal", took)
		require.LessOrEqual(t, time.Since(healed), bubbleTimeout/10+20*time.Millisecond)
		// Contact is back: every node gets a fresh timeout, nobody is
		// removed.
		time.Sleep(3 * bubbleTimeout)
		synctest.Wait()
		require.Equal(t, c.cfg, c.master.Config())
		cl := c.client()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := cl.Append(ctx, []byte("after the heal"))
		require.NoError(t, err)
	})
}

// admin sends one AdminRequest to the master over the transport and waits
// for the answer.
func admin(t *testing.T, ep chain.Endpoint, req *wire.AdminRequest) *wire.AdminResponse {
	t.Helper()
	require.NoError(t, ep.Send(context.Background(), masterAddr, req))
	synctest.Wait()
	for {
		select {
		case in := <-ep.Receive():
			if resp, ok := in.Msg.(*wire.AdminResponse); ok && resp.ID == req.ID {
				require.Equal(t, masterAddr, in.From)
				return resp
			}
		default:
			t.Fatalf("no answer to %+v", req)
			return nil
		}
	}
}

// TestAdminOverTheWire adds a node, removes one, and sends bad requests,
// all as AdminRequest messages.
func TestAdminOverTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		ep, err := c.net.Listen("")
		require.NoError(t, err)
		cl := c.client()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := range 5 {
			_, err := cl.Append(ctx, []byte{byte(i)})
			require.NoError(t, err)
		}

		// Add n4: the answer is the configuration as it stands (n4 joins
		// once it heartbeats).
		resp := admin(t, ep, &wire.AdminRequest{ID: 1, Op: wire.AdminAddNode, Member: chain.Member{ID: "n4", Addr: "n4"}})
		require.Nil(t, resp.Err)
		require.Equal(t, c.cfg, resp.Config)
		c.startNode("n4", chain.WithAddr("n4"))
		took, ok := waitFor(5*time.Second, func() bool {
			cfg := c.master.Config()
			return len(cfg.Members) == 4 && cfg.Tail().ID == "n4"
		})
		require.True(t, ok, "n4 never became the tail: %+v", c.master.Config())
		t.Logf("n4 became the tail %v after it started", took)
		require.Equal(t, uint64(3), c.master.Config().Epoch, "joining, then tail: two epochs")
		_, ok = waitFor(time.Second, func() bool { return c.nodes["n4"].Role() == chain.RoleTail })
		require.True(t, ok)
		ents, err := cl.Read(ctx, 1, 10)
		require.NoError(t, err)
		require.Len(t, ents, 5)

		// Remove n2: the answer is the new configuration.
		resp = admin(t, ep, &wire.AdminRequest{ID: 2, Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n2"}})
		require.Nil(t, resp.Err)
		require.Equal(t, []string{"n1", "n3", "n4"}, memberIDs(resp.Config))
		require.Equal(t, uint64(4), resp.Config.Epoch)
		_, err = cl.Append(ctx, []byte("after removing n2"))
		require.NoError(t, err)
		// n2 keeps heartbeating but stays out.
		time.Sleep(3 * bubbleTimeout)
		synctest.Wait()
		require.Equal(t, resp.Config, c.master.Config())
		require.Equal(t, chain.RoleNone, c.nodes["n2"].Role())

		// Errors: each answer carries the configuration, unchanged.
		for i, req := range []*wire.AdminRequest{
			{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n9"}},          // unknown node
			{Op: wire.AdminAddNode, Member: chain.Member{ID: "n5"}},             // no address
			{Op: wire.AdminAddNode, Member: chain.Member{ID: "n5", Addr: "n1"}}, // a member's address
			{Op: 99, Member: chain.Member{ID: "n1"}},                            // unknown operation
		} {
			req.ID = uint64(10 + i)
			resp := admin(t, ep, req)
			require.NotNil(t, resp.Err, "%+v", req)
			require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
			require.Equal(t, c.master.Config(), resp.Config)
		}
		// Down to the last member, which cannot be removed.
		for i, id := range []string{"n1", "n3"} {
			resp := admin(t, ep, &wire.AdminRequest{ID: uint64(20 + i), Op: wire.AdminRemoveNode, Member: chain.Member{ID: id}})
			require.Nil(t, resp.Err)
		}
		resp = admin(t, ep, &wire.AdminRequest{ID: 30, Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n4"}})
		require.NotNil(t, resp.Err)
		require.Contains(t, resp.Err.Message, "n4")
		require.Equal(t, []string{"n4"}, memberIDs(resp.Config))
		off, err := cl.Append(ctx, []byte("on n4 alone"))
		require.NoError(t, err)
		require.Equal(t, uint64(7), off)
	})
}

func TestStartValidates(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: members("n1")}
	for _, opts := range []Options{
		{Addr: "m", Config: cfg},
		{Transport: net, Config: cfg},
		{Transport: net, Addr: "m"},
		{Transport: net, Addr: "m", Config: cfg, FailureTimeout: time.Millisecond},
	} {
		_, err := Start(opts)
		require.ErrorIs(t, err, chain.ErrInvalidConfig)
	}
	m, err := Start(Options{Transport: net, Addr: "m", Config: cfg})
	require.NoError(t, err)
	require.Equal(t, "m", m.Addr())
	_, err = Start(Options{Transport: net, Addr: "m", Config: cfg})
	require.Error(t, err, "two masters on one address")
	require.NoError(t, m.Close())
}

// TestFailuresUnderLoad runs a writing client through a series of
// failures and joins, in virtual time: the tail dies and comes back empty,
// the head dies, a new node is added, the middle node is cut off and
// healed. Every acknowledged append must be in the final log at its
// offset, and every member must hold the same log.
func TestFailuresUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		cl := c.client()
		acked := map[uint64]string{}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 100_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				data := fmt.Sprintf("w%d", i)
				off, err := cl.Append(ctx, []byte(data))
				cancel()
				if err == nil {
					acked[off] = data
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		step := func(d time.Duration, what string, f func()) {
			time.Sleep(d)
			t.Logf("%v: %s", d, what)
			f()
		}
		step(time.Second, "kill the tail n3", func() { require.NoError(t, c.nodes["n3"].Close()) })
		step(2*time.Second, "restart n3 empty", func() { c.startNode("n3", chain.WithConfig(c.cfg)) })
		step(3*time.Second, "kill the head n1", func() { require.NoError(t, c.nodes["n1"].Close()) })
		step(2*time.Second, "add n4", func() {
			_, err := c.master.AddNode(chain.Member{ID: "n4", Addr: "n4"})
			require.NoError(t, err)
			c.startNode("n4", chain.WithAddr("n4"))
		})
		step(3*time.Second, "cut off n2", func() { c.net.Partition([]string{"n2"}, []string{masterAddr, "n3", "n4"}) })
		step(3*time.Second, "heal", func() { c.net.Heal() })
		time.Sleep(5 * time.Second)
		close(stop)
		<-done

		cfg := c.master.Config()
		t.Logf("final configuration: %+v; %d appends acknowledged", cfg, len(acked))
		require.Len(t, cfg.Members, 3)
		require.Nil(t, cfg.Joining)
		require.NotEmpty(t, acked)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var ref []chain.Entry
		for _, m := range cfg.Members {
			n := c.nodes[m.ID]
			commit := n.Log().CommitPoint()
			ents, err := n.Log().Read(ctx, 1, int(commit)+1)
			require.NoError(t, err)
			if ref == nil {
				ref = ents
				continue
			}
			require.Equal(t, len(ref), len(ents), "%s holds a different log", m.ID)
			for i := range ents {
				require.Equal(t, ref[i].Data, ents[i].Data, "%s differs at offset %d", m.ID, ents[i].Offset)
			}
		}
		for off, data := range acked {
			require.Less(t, off-1, uint64(len(ref)), "acknowledged offset %d missing", off)
			require.Equal(t, data, string(ref[off-1].Data), "acknowledged offset %d holds another entry", off)
		}
	})
}

// TestWipedHeadRejoinsAsNewNode is defect 1 of issue 12 end to end: the
// head restarts on an empty storage before the master notices it was
// gone, with the original member list. It must never act as a member of
// its old configuration (as head it reused offsets, and acknowledged
// writes were lost): it takes no place until the master confirms one,
// the master removes it (its storage is not the one recorded), and it
// rejoins behind the tail, catching up; every acknowledged write stays at
// its offset.
func TestWipedHeadRejoinsAsNewNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		cl := c.client()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		acked := map[uint64]string{}
		write := func(s string) {
			off, err := cl.Append(ctx, []byte(s))
			require.NoError(t, err)
			acked[off] = s
		}
		for _, s := range []string{"a", "b", "c"} {
			write(s)
		}
		require.NoError(t, c.nodes["n1"].Close())
		n1 := c.startNode("n1", chain.WithConfig(c.cfg)) // a new, empty storage
		for range 50 {
			synctest.Wait()
			cfg := n1.Config()
			require.False(t, n1.Role().IsMember() && n1.Log().LastOffset() < 3,
				"the wiped node runs as %v at epoch %d with %d entries", n1.Role(), cfg.Epoch, n1.Log().LastOffset())
			time.Sleep(10 * time.Millisecond)
		}
		write("d")
		_, ok := waitFor(5*bubbleTimeout, func() bool {
			cfg := c.master.Config()
			return len(cfg.Members) == 3 && cfg.Joining == nil && cfg.Tail().ID == "n1" && n1.Stats().CommitPoint >= 4
		})
		require.True(t, ok, "%+v", c.master.Config())
		write("e")
		ents, err := cl.Read(ctx, 1, 10)
		require.NoError(t, err)
		require.Len(t, ents, len(acked))
		for _, e := range ents {
			require.Equal(t, acked[e.Offset], string(e.Data), "offset %d", e.Offset)
		}
	})
}
