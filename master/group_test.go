package master

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// testGroup is a group of masters (m1..mN, on raft's in-memory transport)
// and the nodes of a chain following them, in a synctest bubble.
type testGroup struct {
	t       *testing.T
	net     *inmem.Network
	cfg     chain.Config
	masters map[string]*Master
	rafts   map[string]*raft.InmemTransport
	peers   []Peer
	nodes   map[string]*chain.Node
	// seen records every configuration a node was seen running, by epoch.
	mu   sync.Mutex
	seen map[uint64]chain.Config
	last map[string]uint64 // the epoch each node was last seen at
	bad  []string
}

func masterAddrs(n int) []string {
	var as []string
	for i := range n {
		as = append(as, fmt.Sprintf("m%d", i+1))
	}
	return as
}

// startGroup starts masters masters and a chain of nodes nodes.
func startGroup(t *testing.T, masters, nodes int) *testGroup {
	t.Helper()
	g := &testGroup{
		t: t, net: inmem.New(inmem.Options{}), cfg: chain.Config{Epoch: 1},
		masters: make(map[string]*Master), rafts: make(map[string]*raft.InmemTransport),
		nodes: make(map[string]*chain.Node), seen: make(map[uint64]chain.Config), last: make(map[string]uint64),
	}
	for i := range nodes {
		id := fmt.Sprintf("n%d", i+1)
		g.cfg.Members = append(g.cfg.Members, chain.Member{ID: id, Addr: id})
	}
	t.Cleanup(g.close)
	for _, a := range masterAddrs(masters) {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress("raft-" + a))
		g.rafts[a] = tr
		g.peers = append(g.peers, Peer{Addr: a, RaftAddr: string(addr)})
	}
	g.connect()
	for _, p := range g.peers {
		g.startMaster(p.Addr, Options{Peers: g.peers, Config: g.cfg})
	}
	_, ok := waitFor(5*time.Second, func() bool { return g.leader() != nil })
	require.True(t, ok, "no leader")
	for _, m := range g.cfg.Members {
		g.startNode(m.ID)
	}
	synctest.Wait()
	return g
}

// connect links every raft transport with every other.
func (g *testGroup) connect() {
	for a, ta := range g.rafts {
		for b, tb := range g.rafts {
			if a != b {
				ta.Connect(tb.LocalAddr(), tb)
			}
		}
	}
}

func (g *testGroup) startMaster(addr string, opts Options) *Master {
	g.t.Helper()
	opts.Transport, opts.Addr, opts.FailureTimeout = g.net, addr, bubbleTimeout
	opts.RaftTransport = g.rafts[addr]
	m, err := Start(opts)
	require.NoError(g.t, err)
	g.masters[addr] = m
	return m
}

func (g *testGroup) startNode(id string) {
	g.t.Helper()
	opts := []chain.NodeOption{chain.WithTransport(g.net), chain.WithStorage(memory.New()),
		chain.WithMaster(masterAddrs(3)...), chain.WithPollInterval(20 * time.Millisecond)}
	if g.cfg.Role(id) != chain.RoleNone {
		opts = append(opts, chain.WithConfig(g.cfg))
	} else {
		opts = append(opts, chain.WithAddr(id))
	}
	n, err := chain.NewNode(id, opts...)
	require.NoError(g.t, err)
	require.NoError(g.t, n.Start(context.Background()))
	g.nodes[id] = n
}

// killMaster closes the master at addr and cuts its raft transport off.
func (g *testGroup) killMaster(addr string) {
	require.NoError(g.t, g.masters[addr].Close())
	delete(g.masters, addr)
	for a, tr := range g.rafts {
		if a != addr {
			tr.Disconnect(raft.ServerAddress("raft-" + addr))
		}
	}
}

// leader returns the master that leads and runs the detector, if exactly
// one does.
func (g *testGroup) leader() *Master {
	var l *Master
	for _, m := range g.masters {
		if m.IsLeader() {
			if l != nil {
				return nil
			}
			l = m
		}
	}
	return l
}

// record notes the configuration every live node runs: no two may share
// an epoch.
func (g *testGroup) record() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, n := range g.nodes {
		cfg := n.Config()
		if old, ok := g.seen[cfg.Epoch]; ok && !configsEqual(old, cfg) {
			g.bad = append(g.bad, fmt.Sprintf("%s runs epoch %d as %v, seen as %v", id, cfg.Epoch, cfg, old))
		}
		g.seen[cfg.Epoch] = cfg
		if cfg.Epoch < g.last[id] {
			g.bad = append(g.bad, fmt.Sprintf("%s went back from epoch %d to %d", id, g.last[id], cfg.Epoch))
		}
		g.last[id] = cfg.Epoch
	}
}

func configsEqual(a, b chain.Config) bool {
	return single(chainDurable{Config: a}).equal(single(chainDurable{Config: b}))
}

func (g *testGroup) close() {
	for _, n := range g.nodes {
		_ = n.Close()
	}
	for _, m := range g.masters {
		require.NoError(g.t, m.Close())
	}
	_ = g.net.Close()
}

func (g *testGroup) client() *chain.Client {
	g.t.Helper()
	cl, err := chain.NewClient(chain.WithTransport(g.net), chain.WithMaster(masterAddrs(3)...),
		chain.WithRetryInterval(10*time.Millisecond, 100*time.Millisecond))
	require.NoError(g.t, err)
	g.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// wroteOnce appends "before" through a new client and returns the client
// and the master that leads then.
func (g *testGroup) wroteOnce(ctx context.Context) (*chain.Client, *Master) {
	g.t.Helper()
	cl := g.client()
	_, err := cl.Append(ctx, []byte("before"))
	require.NoError(g.t, err)
	l := g.leader()
	require.NotNil(g.t, l)
	return cl, l
}

// waitFor is the package's waitFor, recording the nodes' configurations at
// every step.
func (g *testGroup) waitFor(limit time.Duration, cond func() bool) (time.Duration, bool) {
	return waitFor(limit, func() bool { g.record(); return cond() })
}

// TestLeaderKilledDuringFailure kills a node and then, while the failure
// is being detected (and, in the second case, right after its removal is
// committed), the leader of a 3-master group: a new leader takes over,
// removes the node, no configuration is lost, no two configurations share
// an epoch, and a client that knows all masters keeps writing.
func TestLeaderKilledDuringFailure(t *testing.T) {
	for _, when := range []string{"detecting", "committed"} {
		t.Run(when, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := startGroup(t, 3, 3)
				ctx := context.Background()
				cl, old := g.wroteOnce(ctx)

				require.NoError(t, g.nodes["n2"].Close())
				delete(g.nodes, "n2")
				if when == "detecting" {
					g.waitFor(bubbleTimeout/2, func() bool { return false })
				} else {
					_, ok := g.waitFor(2*bubbleTimeout, func() bool { return len(old.Config().Members) == 2 })
					require.True(t, ok)
				}
				epochBefore := old.Config().Epoch
				g.killMaster(old.Addr())

				_, ok := g.waitFor(5*bubbleTimeout, func() bool {
					l := g.leader()
					return l != nil && memberIDs(l.Config()) != nil && slices.Equal(memberIDs(l.Config()), []string{"n1", "n3"})
				})
				require.True(t, ok, "the new leader never removed n2")
				nl := g.leader()
				require.NotEqual(t, old.Addr(), nl.Addr())
				require.GreaterOrEqual(t, nl.Config().Epoch, epochBefore, "a committed configuration was lost")

				// Writes continue through the new leader's configuration.
				wctx, cancel := context.WithTimeout(ctx, 5*bubbleTimeout)
				defer cancel()
				for i := range 5 {
					_, err := cl.Append(wctx, fmt.Appendf(nil, "after %d", i))
					require.NoError(t, err)
				}
				_, ok = g.waitFor(2*bubbleTimeout, func() bool {
					return g.nodes["n1"].Config().Epoch == nl.Config().Epoch && g.nodes["n3"].Config().Epoch == nl.Config().Epoch
				})
				require.True(t, ok)
				g.mu.Lock()
				defer g.mu.Unlock()
				require.Empty(t, g.bad)
				t.Logf("epochs seen: %v", slices.Sorted(maps.Keys(g.seen)))
			})
		})
	}
}

// TestLeaderPartitionedFromTheChain cuts the leader's chain-transport
// address off (raft still reaches it): it hears from no node, removes
// nobody, hands the leadership on, and the new leader serves the nodes,
// which keep the chain whole.
func TestLeaderPartitionedFromTheChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := startGroup(t, 3, 3)
		ctx := context.Background()
		cl, old := g.wroteOnce(ctx)
		g.net.Isolate(old.Addr())

		_, ok := g.waitFor(10*bubbleTimeout, func() bool {
			l := g.leader()
			return l != nil && l != old
		})
		require.True(t, ok, "the leadership never moved")
		wctx, cancel := context.WithTimeout(ctx, 5*bubbleTimeout)
		defer cancel()
		for i := range 5 {
			_, err := cl.Append(wctx, fmt.Appendf(nil, "after %d", i))
			require.NoError(t, err)
		}
		require.Equal(t, []string{"n1", "n2", "n3"}, memberIDs(g.leader().Config()), "a node was removed")
		g.net.Reconnect(old.Addr())
		g.mu.Lock()
		defer g.mu.Unlock()
		require.Empty(t, g.bad)
	})
}

// TestAdminToAFollowerIsRedirected sends an AdminRequest to a follower: it
// is refused with the leader's address.
func TestAdminToAFollowerIsRedirected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := startGroup(t, 3, 1)
		l := g.leader()
		var follower string
		for a := range g.masters {
			if a != l.Addr() {
				follower = a
			}
		}
		ep, err := g.net.Listen("admin")
		require.NoError(t, err)
		defer ep.Close()
		require.NoError(t, ep.Send(context.Background(), follower,
			&wire.AdminRequest{ID: 1, Op: wire.AdminAddNode, Member: chain.Member{ID: "x", Addr: "x"}}))
		synctest.Wait()
		in := <-ep.Receive()
		resp, ok := in.Msg.(*wire.AdminResponse)
		require.True(t, ok)
		require.NotNil(t, resp.Err)
		require.Equal(t, l.Addr(), resp.Err.Redirect)
		_, err = g.masters[follower].AddNode(chain.Member{ID: "x", Addr: "x"})
		require.ErrorIs(t, err, ErrNotLeader)
	})
}

// TestAddAndRemoveMasters grows a lone master into a group of three, kills
// the first, and removes it from the group: the configuration survives.
func TestAddAndRemoveMasters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m1 := startLoneMaster(t)
		require.True(t, m1.IsLeader())
		require.Equal(t, "m1", m1.Leader())
		g.startNode("n1")
		_, err := m1.AddNode(chain.Member{ID: "n2", Addr: "n2"})
		require.NoError(t, err)
		g.startNode("n2")
		_, ok := g.waitFor(5*bubbleTimeout, func() bool { return len(m1.Config().Members) == 2 })
		require.True(t, ok, "n2 never joined")

		for _, a := range []string{"m2", "m3"} {
			g.startMaster(a, Options{Join: true})
			require.NoError(t, m1.AddMaster(Peer{Addr: a, RaftAddr: "raft-" + a}))
		}
		// Every master learns the group before the leader dies: a master
		// that missed the entry adding m3 would refuse m3's vote (raft
		// ignores candidates outside its configuration) and, m1 gone, no
		// leader could be elected.
		_, ok = g.waitFor(bubbleTimeout, func() bool {
			for _, m := range g.masters {
				if ps, err := m.Masters(); err != nil || len(ps) != 3 {
					return false
				}
			}
			return true
		})
		require.True(t, ok, "the masters never all learned the group")
		cfg := m1.Config()
		g.killMaster("m1")
		_, ok = g.waitFor(5*bubbleTimeout, func() bool { return g.leader() != nil })
		require.True(t, ok, "no new leader")
		l := g.leader()
		require.GreaterOrEqual(t, l.Config().Epoch, cfg.Epoch)
		require.Equal(t, []string{"n1", "n2"}, memberIDs(l.Config()))
		require.NoError(t, l.RemoveMaster("m1"))
		ps, err := l.Masters()
		require.NoError(t, err)
		require.Len(t, ps, 2)
		// The chain still follows the group.
		_, err = l.RemoveNode("n2")
		require.NoError(t, err)
		_, ok = g.waitFor(2*bubbleTimeout, func() bool { return len(g.nodes["n1"].Config().Members) == 1 })
		require.True(t, ok)
	})
}

// restartMaster brings a killed master back as a new member of the group:
// the leader removes the old one and adds the new one (its raft log was in
// memory, so it starts empty and catches up).
func (g *testGroup) restartMaster(addr string) {
	g.t.Helper()
	l := g.leader()
	require.NotNil(g.t, l)
	require.NoError(g.t, l.RemoveMaster(addr))
	_, tr := raft.NewInmemTransport(raft.ServerAddress("raft-" + addr))
	g.rafts[addr] = tr
	g.connect()
	g.startMaster(addr, Options{Join: true})
	require.NoError(g.t, l.AddMaster(Peer{Addr: addr, RaftAddr: "raft-" + addr}))
	_, ok := g.waitFor(bubbleTimeout, func() bool {
		for _, m := range g.masters {
			if ps, err := m.Masters(); err != nil || len(ps) != 3 {
				return false
			}
		}
		return true
	})
	require.True(g.t, ok, "the masters never all learned the group")
}

// TestFaultRunAcrossLeaderChanges writes all along while, twice, the
// leader is killed in the middle of a reconfiguration (a node failure,
// then a node joining) and brought back: every acknowledged write is in
// the log at its offset, and the nodes never see two configurations with
// one epoch or an epoch go back.
func TestFaultRunAcrossLeaderChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := startGroup(t, 3, 3)
		cl := g.client()
		ctx, stop := context.WithCancel(context.Background())
		acked := map[uint64]string{}
		var wmu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ctx.Err() == nil; i++ {
				data := fmt.Sprintf("w%d", i)
				actx, cancel := context.WithTimeout(ctx, 2*bubbleTimeout)
				off, err := cl.Append(actx, []byte(data))
				cancel()
				if err == nil {
					wmu.Lock()
					acked[off] = data
					wmu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		ackedNow := func() int { wmu.Lock(); defer wmu.Unlock(); return len(acked) }

		// A node fails; the leader dies while detecting it.
		require.NoError(t, g.nodes["n3"].Close())
		delete(g.nodes, "n3")
		g.waitFor(700*time.Millisecond, func() bool { return false })
		old := g.leader()
		require.NotNil(t, old)
		g.killMaster(old.Addr())
		_, ok := g.waitFor(5*bubbleTimeout, func() bool {
			l := g.leader()
			return l != nil && slices.Equal(memberIDs(l.Config()), []string{"n1", "n2"})
		})
		require.True(t, ok, "n3 never removed")
		g.restartMaster(old.Addr())

		// A node joins; the leader dies while it catches up.
		before := ackedNow()
		_, ok = g.waitFor(5*bubbleTimeout, func() bool { return ackedNow() > before+5 })
		require.True(t, ok, "writes stopped")
		_, err := g.leader().AddNode(chain.Member{ID: "n4", Addr: "n4"})
		require.NoError(t, err)
		g.startNode("n4")
		_, ok = g.waitFor(2*bubbleTimeout, func() bool { return g.leader().Config().Joining != nil })
		require.True(t, ok, "n4 never started to join")
		old = g.leader()
		g.killMaster(old.Addr())
		_, ok = g.waitFor(10*bubbleTimeout, func() bool {
			l := g.leader()
			return l != nil && slices.Equal(memberIDs(l.Config()), []string{"n1", "n2", "n4"})
		})
		require.True(t, ok, "n4 never joined")
		g.restartMaster(old.Addr())

		before = ackedNow()
		_, ok = g.waitFor(5*bubbleTimeout, func() bool { return ackedNow() > before+5 })
		require.True(t, ok, "writes stopped")
		stop()
		<-done

		wmu.Lock()
		defer wmu.Unlock()
		var last uint64
		for off := range acked {
			last = max(last, off)
		}
		rctx, cancel := context.WithTimeout(context.Background(), 5*bubbleTimeout)
		defer cancel()
		got := map[uint64]string{}
		for from := uint64(1); from <= last; {
			ents, err := cl.Read(rctx, from, 100)
			require.NoError(t, err)
			require.NotEmpty(t, ents)
			for _, e := range ents {
				got[e.Offset] = string(e.Data)
				from = e.Offset + 1
			}
		}
		for off, data := range acked {
			require.Equal(t, data, got[off], "acknowledged write at offset %d", off)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		require.Empty(t, g.bad)
		t.Logf("%d writes acknowledged; epochs seen: %v", len(acked), slices.Sorted(maps.Keys(g.seen)))
	})
}

// TestMastersAddedAndRemovedOverTheWire grows a lone master to a group of
// three and shrinks it again with admin requests, as chainctl add-master
// and remove-master send them.
func TestMastersAddedAndRemovedOverTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, m1 := startLoneMaster(t)
		ep, err := g.net.Listen("")
		require.NoError(t, err)
		for i, a := range []string{"m2", "m3"} {
			g.startMaster(a, Options{Join: true})
			resp := adminTo(t, ep, "m1", &wire.AdminRequest{ID: uint64(1 + i), Op: wire.AdminAddMaster, Member: chain.Member{ID: a, Addr: "raft-" + a}})
			require.Nil(t, resp.Err, "add %s", a)
		}
		ps, err := m1.Masters()
		require.NoError(t, err)
		require.Len(t, ps, 3)

		resp := adminTo(t, ep, "m1", &wire.AdminRequest{ID: 3, Op: wire.AdminAddMaster, Member: chain.Member{ID: "m4"}})
		require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument, "a master without a raft address")

		resp = adminTo(t, ep, "m1", &wire.AdminRequest{ID: 4, Op: wire.AdminRemoveMaster, Member: chain.Member{ID: "m3"}})
		require.Nil(t, resp.Err)
		ps, err = m1.Masters()
		require.NoError(t, err)
		require.Len(t, ps, 2)
	})
}

// adminTo sends req to the master at addr and waits, in the bubble's
// virtual time, for its answer (a change waits for its raft commit).
func adminTo(t *testing.T, ep chain.Endpoint, addr string, req *wire.AdminRequest) *wire.AdminResponse {
	t.Helper()
	require.NoError(t, ep.Send(context.Background(), addr, req))
	timeout := time.After(10 * bubbleTimeout)
	for {
		select {
		case in := <-ep.Receive():
			if resp, ok := in.Msg.(*wire.AdminResponse); ok && resp.ID == req.ID {
				return resp
			}
		case <-timeout:
			t.Fatalf("no answer to %+v", req)
			return nil
		}
	}
}

// startLoneMaster starts master m1 alone over a chain of one member, with
// raft transports ready for m2 and m3 to join.
func startLoneMaster(t *testing.T) (*testGroup, *Master) {
	g := &testGroup{
		t: t, net: inmem.New(inmem.Options{}), cfg: chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}},
		masters: make(map[string]*Master), rafts: make(map[string]*raft.InmemTransport),
		nodes: make(map[string]*chain.Node), seen: make(map[uint64]chain.Config), last: make(map[string]uint64),
	}
	t.Cleanup(g.close)
	for _, a := range masterAddrs(3) {
		_, tr := raft.NewInmemTransport(raft.ServerAddress("raft-" + a))
		g.rafts[a] = tr
	}
	g.connect()
	return g, g.startMaster("m1", Options{Config: g.cfg})
}
