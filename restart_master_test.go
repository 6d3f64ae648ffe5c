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

// scriptedMaster answers a node's heartbeats at the address "master" with
// a configuration the test chooses, confirming the node's place or not.
type scriptedMaster struct {
	mu      sync.Mutex
	cfg     chain.Config
	confirm bool
	beats   []*wire.Heartbeat
}

func startScriptedMaster(t *testing.T, net *inmem.Network, cfg chain.Config) *scriptedMaster {
	t.Helper()
	ep, err := net.Listen("master")
	require.NoError(t, err)
	m := &scriptedMaster{cfg: cfg}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for in := range ep.Receive() {
			hb, ok := in.Msg.(*wire.Heartbeat)
			if !ok {
				continue
			}
			m.mu.Lock()
			m.beats = append(m.beats, hb)
			u := &wire.ConfigUpdate{Config: m.cfg.Clone(), FenceAfter: 500 * time.Millisecond,
				HeartbeatEvery: 100 * time.Millisecond, Leader: "master", HeartbeatSent: hb.Sent}
			if m.confirm {
				u.Confirmed = hb.Incarnation
			}
			m.mu.Unlock()
			_ = ep.Send(context.Background(), in.From, u)
		}
	}()
	t.Cleanup(func() { _ = ep.Close(); <-done })
	return m
}

func (m *scriptedMaster) set(cfg chain.Config, confirm bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg, m.confirm = cfg, confirm
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
		m := startScriptedMaster(t, net, current)
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
		m := startScriptedMaster(t, net, cfg)
		n, ep := restartUnderMaster(t, net, "n1", memory.New())

		time.Sleep(time.Second)
		require.NotEqual(t, chain.RoleHead, n.Role(), "an unconfirmed node runs as head")
		r := probe(t, ep, "n1", &wire.ClientRequest{ID: 1, Op: wire.OpAppend, Data: []byte("x")})
		require.NotNil(t, r, "the write was taken")
		require.NotNil(t, r.Err)
		require.Equal(t, uint64(0), n.Log().LastOffset(), "an unconfirmed node ordered a write")
		m.mu.Lock()
		defer m.mu.Unlock()
		require.NotEmpty(t, m.beats)
		inc := m.beats[0].Incarnation
		require.NotZero(t, inc, "the node reports no storage incarnation")
		for _, hb := range m.beats {
			require.Equal(t, inc, hb.Incarnation)
			require.Zero(t, hb.Epoch, "an unplaced node reports the epoch it was started with")
			require.Nil(t, hb.Config, "an unplaced node reports a configuration")
		}
	})
}
