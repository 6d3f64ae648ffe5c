package chain_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// Tests of a node under a master that the test plays: the fencing lease
// its master's replies give it, and how it restarts under its master.

// fakeMaster plays, at one address of an in-memory network, the leader of
// a master group for the nodes that heartbeat to it. By hand, the test
// takes each heartbeat (heartbeat, latestHeartbeat) and decides whether and
// when to answer it (answer); after serve, every heartbeat is answered at
// once with the configuration set last.
type fakeMaster struct {
	t    *testing.T
	addr string
	ep   chain.Endpoint

	mu      sync.Mutex
	served  chain.Config // what serve answers with
	confirm bool         // whether serve confirms the node's place
	standby bool         // whether serve tells the node it is a standby node
	beats   []*wire.Heartbeat
}

// fakeFenceAfter is the lease a fakeMaster's replies give.
const fakeFenceAfter = 500 * time.Millisecond

// listenMaster opens the fake master's endpoint at addr on net.
func listenMaster(t *testing.T, net *inmem.Network, addr string) *fakeMaster {
	t.Helper()
	ep, err := net.Listen(addr)
	require.NoError(t, err)
	return &fakeMaster{t: t, addr: addr, ep: ep}
}

// update is the master's reply to hb: cfg, a lease of fakeFenceAfter from
// when hb was sent and, with confirm, the node confirmed on the storage
// it reports (see master/place.go).
func (m *fakeMaster) update(hb *wire.Heartbeat, cfg chain.Config, confirm bool) *wire.ConfigUpdate {
	u := &wire.ConfigUpdate{Config: cfg, FenceAfter: fakeFenceAfter, HeartbeatEvery: 100 * time.Millisecond,
		Leader: m.addr, HeartbeatSent: hb.Sent}
	if confirm {
		u.Confirmed = hb.Incarnation
	}
	return u
}

// heartbeat returns the next heartbeat a node sent.
func (m *fakeMaster) heartbeat() *wire.Heartbeat {
	for in := range m.ep.Receive() {
		if hb, ok := in.Msg.(*wire.Heartbeat); ok {
			return hb
		}
	}
	m.t.Fatal("the master's endpoint closed")
	return nil
}

// latestHeartbeat returns the latest heartbeat the nodes sent, once every
// goroutine of the bubble is blocked (a burst from a paused node included).
func (m *fakeMaster) latestHeartbeat() *wire.Heartbeat {
	synctest.Wait()
	hb := m.heartbeat()
	for {
		select {
		case in := <-m.ep.Receive():
			if next, ok := in.Msg.(*wire.Heartbeat); ok {
				hb = next
			}
		default:
			return hb
		}
	}
}

// answer replies to hb, which node to sent, with cfg, confirming the node.
func (m *fakeMaster) answer(to string, hb *wire.Heartbeat, cfg chain.Config) {
	require.NoError(m.t, m.ep.Send(context.Background(), to, m.update(hb, cfg, true)))
}

// serve answers, until the test ends, every heartbeat at once with cfg,
// not confirming the node's place until set says so; it keeps the
// heartbeats (see heartbeats).
func (m *fakeMaster) serve(cfg chain.Config) {
	m.set(cfg, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for in := range m.ep.Receive() {
			hb, ok := in.Msg.(*wire.Heartbeat)
			if !ok {
				continue
			}
			m.mu.Lock()
			m.beats = append(m.beats, hb)
			u := m.update(hb, m.served.Clone(), m.confirm)
			u.Standby = m.standby
			m.mu.Unlock()
			_ = m.ep.Send(context.Background(), in.From, u)
		}
	}()
	m.t.Cleanup(func() { _ = m.ep.Close(); <-done })
}

// set changes what serve answers with.
func (m *fakeMaster) set(cfg chain.Config, confirm bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.served, m.confirm = cfg, confirm
}

// heartbeats returns the heartbeats serve has answered so far.
func (m *fakeMaster) heartbeats() []*wire.Heartbeat {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*wire.Heartbeat(nil), m.beats...)
}

// setStandby changes whether serve tells the node it is a standby node.
func (m *fakeMaster) setStandby(standby bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.standby = standby
}

// lastBeat returns the last heartbeat serve took.
func (m *fakeMaster) lastBeat() *wire.Heartbeat {
	beats := m.heartbeats()
	if len(beats) == 0 {
		return nil
	}
	return beats[len(beats)-1]
}

// TestNodeToldItIsStandbyKeepsSayingSo is the node's half of the fix of
// defect 10 of issue 12 for standby nodes (seed 1132250126472009117 of
// master-restart-empty): once the master's leader tells a node it holds
// it as a standby node, the node says so in its heartbeats, also after a
// restart on its storage and when the master no longer says it, so that a
// master that lost its state takes it back; a follower's word counts for
// nothing.
func TestNodeToldItIsStandbyKeepsSayingSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := inmem.New(inmem.Options{})
		st := memory.New()
		cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
		m := listenMaster(t, net, "master")
		m.serve(cfg)
		start := func() *chain.Node {
			n, err := chain.NewNode("n3", chain.WithTransport(net), chain.WithStorage(st), chain.WithAddr("n3"),
				chain.WithMaster("master", "m2"))
			require.NoError(t, err)
			require.NoError(t, n.Start(context.Background()))
			return n
		}
		n := start()
		time.Sleep(time.Second)
		require.False(t, m.lastBeat().Standby, "a node no master called standby claims to be one")

		// A follower's word is not taken.
		ep, err := net.Listen("m2")
		require.NoError(t, err)
		defer ep.Close()
		require.NoError(t, ep.Send(context.Background(), "n3",
			&wire.ConfigUpdate{Config: cfg, Follower: true, Leader: "master", Standby: true}))
		time.Sleep(time.Second)
		require.False(t, m.lastBeat().Standby, "a follower's reply made the node claim to be standby")

		m.setStandby(true)
		time.Sleep(time.Second)
		require.True(t, m.lastBeat().Standby)

		// A master that no longer knows it: the node still says it, and
		// after a restart on its storage too.
		m.setStandby(false)
		time.Sleep(time.Second)
		require.True(t, m.lastBeat().Standby)
		require.NoError(t, n.Close())
		n = start()
		defer n.Close()
		time.Sleep(time.Second)
		require.True(t, m.lastBeat().Standby, "the restarted node forgot it was a standby node")
	})
}

// handMaster is node n1 of a chain of one under a fakeMaster at "m" that
// the test plays by hand, in a synctest bubble, and an endpoint to ask
// the node from.
type handMaster struct {
	*fakeMaster
	net   *inmem.Network
	probe chain.Endpoint
	node  *chain.Node
	cfg   chain.Config // the node's configuration at the start
	reqID uint64
}

// newHandMaster starts node n1 of a chain of one under the hand-played
// master m; setup, if any, registers handlers before the node starts.
func newHandMaster(t *testing.T, setup func(*chain.Node) error, opts ...chain.NodeOption) *handMaster {
	net := inmem.New(inmem.Options{})
	m := listenMaster(t, net, "m")
	probe, err := net.Listen("probe")
	require.NoError(t, err)
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	opts = append([]chain.NodeOption{chain.WithTransport(net), chain.WithStorage(memory.New()),
		chain.WithConfig(cfg), chain.WithMaster("m")}, opts...)
	n, err := chain.NewNode("n1", opts...)
	require.NoError(t, err)
	if setup != nil {
		require.NoError(t, setup(n))
	}
	require.NoError(t, n.Start(context.Background()))
	return &handMaster{fakeMaster: m, net: net, probe: probe, node: n, cfg: cfg}
}

func (h *handMaster) close() {
	require.NoError(h.t, h.node.Close())
	require.NoError(h.t, h.net.Close())
}

// answer replies to hb as the leader of the master group would, with cfg,
// confirming the node.
func (h *handMaster) answer(hb *wire.Heartbeat, cfg chain.Config) {
	h.fakeMaster.answer("n1", hb, cfg)
}

// ask sends req to the node and returns its answer.
func (h *handMaster) ask(req *wire.ClientRequest) *wire.ClientResponse {
	resp := h.askWithin(req, time.Hour)
	require.NotNil(h.t, resp, "no answer")
	return resp
}

// askWithin sends req to the node and returns its answer, or nil if none
// comes within d of virtual time.
func (h *handMaster) askWithin(req *wire.ClientRequest, d time.Duration) *wire.ClientResponse {
	h.reqID++
	req.ID = h.reqID
	require.NoError(h.t, h.probe.Send(context.Background(), "n1", req))
	deadline := time.After(d)
	for {
		select {
		case in, ok := <-h.probe.Receive():
			require.True(h.t, ok, "the probe's endpoint closed")
			if resp, ok := in.Msg.(*wire.ClientResponse); ok && resp.ID == req.ID {
				return resp
			}
		case <-deadline:
			return nil
		}
	}
}

// TestPausedTailIgnoresTheLateReplyOfItsMaster is defect 4 of issue 12,
// first form: a tail paused (its messages wait both ways) just after its
// master answered a heartbeat takes the queued reply when it resumes,
// long after its lease ran out and the master replaced it. The lease runs
// from when the answered heartbeat was sent, so the tail stays fenced; it
// renewed as of when it took the reply, and served a stale read.
func TestPausedTailIgnoresTheLateReplyOfItsMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHandMaster(t, nil)
		defer h.close()
		h.answer(h.heartbeat(), h.cfg)
		synctest.Wait()
		require.Nil(t, h.ask(&wire.ClientRequest{Op: wire.OpLatest}).Err, "the tail serves on its master's reply")

		hb := h.heartbeat()
		h.net.Hold("n1")
		h.answer(hb, h.cfg) // waits in the paused tail's socket
		time.Sleep(4 * fakeFenceAfter)
		h.net.Release("n1") // the reply first, then the read
		resp := h.ask(&wire.ClientRequest{Op: wire.OpLatest})
		require.NotNil(t, resp.Err, "the tail served %d ms after the heartbeat its master answered last, with a lease of %d ms",
			(4 * fakeFenceAfter).Milliseconds(), fakeFenceAfter.Milliseconds())
		require.Equal(t, wire.CodeClosed, resp.Err.Code, "%v", resp.Err)

		// A reply to the latest heartbeat renews the lease.
		h.answer(h.latestHeartbeat(), h.cfg)
		synctest.Wait()
		require.Nil(t, h.ask(&wire.ClientRequest{Op: wire.OpLatest}).Err, "a fresh reply renews the lease")
	})
}

// TestTailEchoedLaterThanItsHeartbeatsIgnoresTheReply: a reply that
// echoes an instant later than any heartbeat the node sent (forged, or a
// replay meant for another process) renews nothing; nor does one that
// echoes nothing, as a master that predates the echo sends.
func TestTailEchoedLaterThanItsHeartbeatsIgnoresTheReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHandMaster(t, nil)
		defer h.close()
		hb := h.heartbeat()
		forged := *hb
		forged.Sent += time.Hour
		h.answer(&forged, h.cfg)
		h.answer(&wire.Heartbeat{}, h.cfg) // no echo
		synctest.Wait()
		resp := h.ask(&wire.ClientRequest{Op: wire.OpLatest})
		require.NotNil(t, resp.Err, "a reply that answers no heartbeat the node sent renewed its lease")
		require.Equal(t, wire.CodeClosed, resp.Err.Code, "%v", resp.Err)
	})
}

// TestTailToldOfItsReplacementAdmitsNoRead is defect 4 of issue 12,
// second form: a tail whose lease still runs is told of a configuration
// that replaced it; while it adopts the new configuration (here held up
// by a query it is running: the role change waits for its read workers),
// it must admit no read under the old one, whose writes have moved on to
// the new tail. (Admitted, the read is served if a read worker takes it
// before the role change stops them, a race; here it waits in the read
// queue, and the test sees that it was not refused at once.)
func TestTailToldOfItsReplacementAdmitsNoRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		h := newHandMaster(t, func(n *chain.Node) error {
			return n.HandleQuery("block", func(context.Context, []byte) ([]byte, error) {
				<-unblock
				return nil, nil
			})
		}, chain.WithQueryWorkers(2))
		defer h.close()
		hb := h.heartbeat()
		h.answer(hb, h.cfg)
		synctest.Wait()
		require.Nil(t, h.ask(&wire.ClientRequest{Op: wire.OpLatest}).Err, "the tail serves on its master's reply")

		h.reqID++
		require.NoError(t, h.probe.Send(context.Background(), "n1", &wire.ClientRequest{Op: wire.OpQuery, ID: h.reqID, Name: "block"}))
		synctest.Wait() // a read worker runs the query
		replaced := chain.Config{Epoch: 2, Members: []chain.Member{{ID: "n2", Addr: "n2"}}}
		h.answer(hb, replaced)
		synctest.Wait() // the node has taken the new configuration; its role change waits for the query
		resp := h.askWithin(&wire.ClientRequest{Op: wire.OpLatest}, fakeFenceAfter/10)
		close(unblock)
		require.NotNil(t, resp, "the tail admitted a read under epoch 1 after it was told of epoch 2")
		require.NotNil(t, resp.Err, "the tail served a read under epoch 1 after it was told of epoch 2")
		require.Equal(t, wire.CodeStaleEpoch, resp.Err.Code, "%v", resp.Err)
		require.Equal(t, uint64(2), resp.Err.Epoch, "the refusal names the newer epoch")
	})
}

// probe sends one client request straight to a node and returns its
// answer (nil if none came once the bubble settled).
func probe(t *testing.T, ep chain.Endpoint, to string, req *wire.ClientRequest) *wire.ClientResponse {
	t.Helper()
	require.NoError(t, ep.Send(context.Background(), to, req))
	synctest.Wait()
	for {
		select {
		case in := <-ep.Receive():
			if r, ok := in.Msg.(*wire.ClientResponse); ok && r.ID == req.ID {
				return r
			}
		default:
			return nil
		}
	}
}

// restartUnderMaster starts node id on st under the master at "master",
// with the original member list (threeMembers), as a deployment restarts
// a node, and returns it with an endpoint to probe it from.
func restartUnderMaster(t *testing.T, net *inmem.Network, id string, st chain.Storage) (*chain.Node, chain.Endpoint) {
	t.Helper()
	n, err := chain.NewNode(id, chain.WithTransport(net), chain.WithStorage(st), chain.WithMaster("master"),
		chain.WithConfig(threeMembers()))
	require.NoError(t, err)
	require.NoError(t, n.Start(context.Background()))
	t.Cleanup(func() { _ = n.Close() })
	ep, err := net.Listen("client")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ep.Close() })
	return n, ep
}

func threeMembers() chain.Config {
	return chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}, {ID: "n3", Addr: "n3"}}}
}

// TestRestartedNodeNamedTailServesNothingBeforeCatchingUp is defect 3 of
// issue 12: a node restarted under a master with the original member list
// (a middle node there) was named tail by the master and, coming from its
// epoch-1 role, committed everything it held and answered reads at once,
// though its predecessor had committed more. Now it takes no place until
// the master confirms it, and then catches up with its predecessor before
// it serves or commits on its own.
func TestRestartedNodeNamedTailServesNothingBeforeCatchingUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := inmem.New(inmem.Options{})
		st := memory.New()
		// What n2 held from an earlier run: 1..3, of which 1 known committed.
		require.NoError(t, st.Append([]chain.Entry{{Offset: 1, Epoch: 1}, {Offset: 2, Epoch: 1}, {Offset: 3, Epoch: 1}}))
		current := chain.Config{Epoch: 5, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
		m := listenMaster(t, net, "master")
		m.serve(current)
		n, ep := restartUnderMaster(t, net, "n2", st)

		latest := func(id uint64) *wire.ClientResponse {
			return probe(t, ep, "n2", &wire.ClientRequest{ID: id, Op: wire.OpLatest})
		}
		// The master names n2 tail but does not confirm it (yet).
		time.Sleep(time.Second)
		r := latest(1)
		require.NotNil(t, r)
		require.NotNil(t, r.Err, "an unconfirmed restarted node answered a read: %+v", r)
		require.Contains(t, r.Err.Message, "confirm")
		require.Equal(t, uint64(0), n.Stats().CommitPoint, "an unconfirmed node committed on its own")

		// Confirmed, it is a tail catching up with n1 (which is down):
		// it still serves nothing and commits nothing on its own.
		m.set(current, true)
		time.Sleep(time.Second)
		require.Equal(t, chain.RoleTail, n.Role())
		r = latest(2)
		require.NotNil(t, r)
		require.NotNil(t, r.Err, "a new tail served before catching up: %+v", r)
		require.Contains(t, r.Err.Message, "catching up")
		require.Equal(t, uint64(0), n.Stats().CommitPoint, "a new tail committed what it held before catching up")
	})
}

// TestRestartedEmptyHeadOrdersNothing is the node's half of defect 1 of
// issue 12: a head restarted on an empty storage, while the master still
// named it head, ordered writes at offsets its chain had used. Now it
// reports a new storage incarnation and takes no place until the master
// confirms it (the master never confirms a member whose storage changed;
// see package master).
func TestRestartedEmptyHeadOrdersNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := inmem.New(inmem.Options{})
		cfg := threeMembers()
		cfg.Epoch = 4
		m := listenMaster(t, net, "master")
		m.serve(cfg)
		n, ep := restartUnderMaster(t, net, "n1", memory.New())

		time.Sleep(time.Second)
		require.NotEqual(t, chain.RoleHead, n.Role(), "an unconfirmed node runs as head")
		r := probe(t, ep, "n1", &wire.ClientRequest{ID: 1, Op: wire.OpAppend, Data: []byte("x")})
		require.NotNil(t, r, "the write was taken")
		require.NotNil(t, r.Err)
		require.Equal(t, uint64(0), n.Log().LastOffset(), "an unconfirmed node ordered a write")
		beats := m.heartbeats()
		require.NotEmpty(t, beats)
		inc := beats[0].Incarnation
		require.NotZero(t, inc, "the node reports no storage incarnation")
		for _, hb := range beats {
			require.Equal(t, inc, hb.Incarnation)
			require.Zero(t, hb.Epoch, "an unplaced node reports the epoch it was started with")
			require.Nil(t, hb.Config, "an unplaced node reports a configuration")
		}
	})
}
