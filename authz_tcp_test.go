package chain_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// secureChain is a chain of three nodes and a master on loopback TCP,
// every process with mutual TLS and a certificate of its own role.
type secureChain struct {
	ca         *pki.CA
	masterAddr string
	members    []chain.Member
	master     *master.Master
	masterTr   *tcp.Transport
	nodes      []*launch.Node
	nodeTrs    []*tcp.Transport
	client     *chain.Client
	logs       *testutil.SyncBuffer
}

// mtlsTransport returns a TCP transport presenting a certificate for the
// identity chain://role/name listing addrs, closed at the test's end.
func (s *secureChain) mtlsTransport(t *testing.T, role auth.Role, name string, addrs ...string) *tcp.Transport {
	t.Helper()
	leaf, err := s.ca.Issue(role, name, time.Hour, addrs...)
	require.NoError(t, err)
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr := tcp.New(tcp.Options{TLS: pki.MutualTLS(s.ca, leaf), Logger: logger})
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func startSecureChain(t *testing.T) *secureChain {
	t.Helper()
	ca, err := pki.NewCA("chain test CA", time.Hour)
	require.NoError(t, err)
	ports, err := launch.FreeLocalMembers(4)
	require.NoError(t, err)
	s := &secureChain{ca: ca, masterAddr: ports[3].Addr, members: ports[:3], logs: &testutil.SyncBuffer{}}
	cfg := chain.Config{Epoch: 1, Members: s.members}
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))

	s.masterTr = s.mtlsTransport(t, auth.RoleMaster, "m1", s.masterAddr)
	s.master, err = master.Start(master.Options{Transport: s.masterTr, Addr: s.masterAddr, Config: cfg, Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.master.Close() })
	for _, m := range s.members {
		tr := s.mtlsTransport(t, auth.RoleNode, m.ID, m.Addr)
		n, err := launch.StartNode(t.Context(), launch.NodeConfig{ID: m.ID, Config: cfg, Masters: []string{s.masterAddr},
			Transport: tr, Logger: logger})
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		s.nodes, s.nodeTrs = append(s.nodes, n), append(s.nodeTrs, tr)
	}
	s.client, err = chain.NewClient(chain.WithTransport(s.mtlsTransport(t, auth.RoleClient, "app")),
		chain.WithMaster(s.masterAddr), chain.WithConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.client.Close() })
	s.requireServing(t, "started")
	return s
}

// requireServing appends an entry through the client and waits for every
// member of the master's configuration to apply it.
func (s *secureChain) requireServing(t *testing.T, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	off, err := s.client.Append(ctx, []byte(what))
	require.NoError(t, err, "append after %s", what)
	for _, n := range s.nodes {
		if s.isMember(n.ID()) {
			require.NoError(t, n.WaitApplied(ctx, off), "node %s after %s", n.ID(), what)
		}
	}
}

func (s *secureChain) isMember(id string) bool {
	return slices.ContainsFunc(s.master.Config().Members, func(m chain.Member) bool { return m.ID == id })
}

// rawPeer dials addr with mutual TLS presenting leaf, and sends the hello
// claiming claim: a peer that speaks the wire format by hand.
func (s *secureChain) rawPeer(t *testing.T, addr, claim string, leaf *pki.Leaf) net.Conn {
	t.Helper()
	cfg := pki.MutualTLS(s.ca, leaf)
	cfg.ServerName = "127.0.0.1"
	c, err := tls.Dial("tcp", addr, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	hello := append([]byte{0x80, 'c', 'h', 'n', 1}, claim...)
	_, err = c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hello))))
	require.NoError(t, err)
	_, err = c.Write(hello)
	require.NoError(t, err)
	return c
}

// writeMessage writes msg as one frame on c; the peer may have closed c.
func writeMessage(t *testing.T, c net.Conn, msg wire.Message) error {
	t.Helper()
	p, err := wire.EncodeMessage(nil, msg)
	require.NoError(t, err)
	_, err = c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...))
	return err
}

// waitFor polls cond until it holds, for at most 20s.
func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// forgedConfig is the configuration an attacker would like the head to
// run: itself alone, head and tail, at a far epoch.
func (s *secureChain) forgedConfig() *wire.ConfigUpdate {
	return &wire.ConfigUpdate{Config: chain.Config{Epoch: 99, Members: s.members[:1]}, FenceAfter: time.Hour,
		HeartbeatEvery: time.Hour}
}

// TestMutualTLSRolesRefuseForgeries: under mutual TLS with per-role
// certificates, each forgery of issue 13 is refused with a log line and a
// count, and the chain goes on serving.
func TestMutualTLSRolesRefuseForgeries(t *testing.T) {
	s := startSecureChain(t)
	head := s.nodes[0]

	t.Run("ConfigUpdate from a node certificate listing the master's address", func(t *testing.T) {
		// The certificate may claim the master's address, so the transport
		// lets it through: only its role stops it.
		leaf, err := s.ca.Issue(auth.RoleNode, "n9", time.Hour, s.masterAddr)
		require.NoError(t, err)
		c := s.rawPeer(t, s.members[0].Addr, s.masterAddr, leaf)
		before := head.Stats().Unauthorized
		require.NoError(t, writeMessage(t, c, s.forgedConfig()))
		waitFor(t, func() bool { return head.Stats().Unauthorized > before }, "the forged ConfigUpdate was not refused")
		require.Less(t, head.Config().Epoch, uint64(99))
		require.Equal(t, chain.RoleHead, head.Role())
		require.Contains(t, s.logs.String(), "chain://node/n9 may not send ConfigUpdate")
		s.requireServing(t, "a forged ConfigUpdate")
	})

	t.Run("ConfigUpdate from a client certificate", func(t *testing.T) {
		ep, err := s.mtlsTransport(t, auth.RoleClient, "mallory").Listen("")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ep.Close() })
		before := head.Stats().Unauthorized
		require.NoError(t, ep.Send(t.Context(), s.members[0].Addr, s.forgedConfig()))
		waitFor(t, func() bool { return head.Stats().Unauthorized > before }, "the forged ConfigUpdate was not refused")
		require.Less(t, head.Config().Epoch, uint64(99))
		s.requireServing(t, "a client's ConfigUpdate")
	})

	t.Run("same-host certificate of another role posing as master", func(t *testing.T) {
		// A node certificate for another port of the same host: the host
		// matches, the address does not.
		leaf, err := s.ca.Issue(auth.RoleNode, "n9", time.Hour, "127.0.0.1:1")
		require.NoError(t, err)
		before := s.nodeTrs[0].Stats().Rejected
		c := s.rawPeer(t, s.members[0].Addr, s.masterAddr, leaf)
		_ = writeMessage(t, c, s.forgedConfig())
		requirePeerCloses(t, c)
		require.Greater(t, s.nodeTrs[0].Stats().Rejected, before)
		require.Less(t, head.Config().Epoch, uint64(99))
		require.Contains(t, s.logs.String(), "does not list claimed address")
		s.requireServing(t, "a same-host master impostor")
	})

	t.Run("heartbeat for another id", func(t *testing.T) {
		// A node certificate of its own (n9 at its own address) reports n2
		// as alive with an empty new storage, which would have the master
		// remove n2.
		ports, err := launch.FreeLocalMembers(1)
		require.NoError(t, err)
		ep, err := s.mtlsTransport(t, auth.RoleNode, "n9", ports[0].Addr).Listen(ports[0].Addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ep.Close() })
		before := s.master.Unauthorized()
		epoch := s.master.Config().Epoch
		require.NoError(t, ep.Send(t.Context(), s.masterAddr,
			&wire.Heartbeat{ID: "n2", Addr: s.members[1].Addr, Epoch: epoch, Last: 0, Incarnation: 12345}))
		waitFor(t, func() bool { return s.master.Unauthorized() > before }, "the forged heartbeat was not refused")
		require.True(t, s.isMember("n2"), "n2 removed: %v", s.master.Config())
		require.Contains(t, s.logs.String(), "heartbeat for n2 at "+s.members[1].Addr+" from chain://node/n9")
		s.requireServing(t, "a heartbeat for another id")
	})

	t.Run("admin request from a node certificate", func(t *testing.T) {
		ep, err := s.mtlsTransport(t, auth.RoleNode, "n3", s.members[2].Addr).Listen("")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ep.Close() })
		before := s.master.Unauthorized()
		require.NoError(t, ep.Send(t.Context(), s.masterAddr,
			&wire.AdminRequest{ID: 1, Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n3"}}))
		waitFor(t, func() bool { return s.master.Unauthorized() > before }, "the admin request was not refused")
		require.True(t, s.isMember("n3"), "n3 removed: %v", s.master.Config())
		require.Contains(t, s.logs.String(), "chain://node/n3 may not send AdminRequest")
		s.requireServing(t, "a node's admin request")
	})

	t.Run("admin request from an admin certificate is served", func(t *testing.T) {
		ep, err := s.mtlsTransport(t, auth.RoleAdmin, "ops").Listen("")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ep.Close() })
		before := s.master.Unauthorized()
		require.NoError(t, ep.Send(t.Context(), s.masterAddr,
			&wire.AdminRequest{ID: 2, Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n3"}}))
		resp := receiveAdminResponse(t, ep)
		require.Nil(t, resp.Err)
		require.Equal(t, before, s.master.Unauthorized())
		require.False(t, s.isMember("n3"))
		s.requireServing(t, "an admin's removal of n3")
	})
	require.Zero(t, s.nodes[1].Stats().Unauthorized+s.nodes[2].Stats().Unauthorized,
		"legitimate traffic was refused: %s", s.logs.String())
}

func receiveAdminResponse(t *testing.T, ep chain.Endpoint) *wire.AdminResponse {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case in := <-ep.Receive():
			if r, ok := in.Msg.(*wire.AdminResponse); ok {
				return r
			}
		case <-timeout:
			t.Fatal("no admin response")
		}
	}
}

// requirePeerCloses requires that the remote end closes c, reading and
// discarding anything it sends.
func requirePeerCloses(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "connection not closed: %v", err)
}

// TestMutualTLSRolesRefuseClusterForgeries: in a partitioned cluster under
// mutual TLS with per-role certificates, a server beat for another
// server, a placement from a non-master and a layout from a non-master
// are refused, logged and counted, and the cluster keeps serving.
func TestMutualTLSRolesRefuseClusterForgeries(t *testing.T) {
	ca, err := pki.NewCA("chain test CA", time.Hour)
	require.NoError(t, err)
	s := &secureChain{ca: ca, logs: &testutil.SyncBuffer{}}
	ports, err := launch.FreeLocalMembers(3)
	require.NoError(t, err)
	masterAddr, addrs := ports[0].Addr, []string{ports[1].Addr, ports[2].Addr}
	pc := launch.PartitionedConfig{MasterAddr: masterAddr, ServerAddrs: addrs, Chains: 2, Replicas: 2,
		Transport: s.mtlsTransport(t, auth.RoleMaster, "m1", masterAddr),
		Logger:    slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for i, a := range addrs {
		pc.ServerTransports = append(pc.ServerTransports, s.mtlsTransport(t, auth.RoleServer, "s"+string(rune('1'+i)), a))
	}
	p, err := launch.StartPartitioned(pc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.WaitPlaced(ctx))
	client, err := partition.NewClient(partition.Options{Transport: s.mtlsTransport(t, auth.RoleClient, "app"),
		Masters: []string{masterAddr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	serving := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		layout, err := client.Layout(ctx)
		require.NoError(t, err)
		for _, ch := range layout.Chains {
			c, err := client.Chain(ctx, ch.ID)
			require.NoError(t, err)
			_, err = c.Append(ctx, []byte(what))
			require.NoError(t, err, "chain %s after %s", ch.ID, what)
		}
	}
	serving("started")
	s1Replicas := func() int {
		n := 0
		for _, ch := range p.Master.Cluster().Chains {
			n += len(slices.DeleteFunc(slices.Clone(ch.Config.Members), func(m chain.Member) bool { return m.ID[:3] != "s1/" }))
		}
		return n
	}
	placed := s1Replicas()
	require.Positive(t, placed)

	t.Run("server beat for another server", func(t *testing.T) {
		// s2's certificate reports s1 restarted without its (volatile)
		// replicas, which would have the master take them out.
		ep, err := s.mtlsTransport(t, auth.RoleServer, "s2", addrs[1]).Listen("")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ep.Close() })
		before := p.Master.Unauthorized()
		require.NoError(t, ep.Send(t.Context(), masterAddr,
			&wire.ServerBeat{ID: "s1", Addr: addrs[0], Incarnation: 12345, Volatile: true}))
		waitFor(t, func() bool { return p.Master.Unauthorized() > before }, "the forged server beat was not refused")
		require.Equal(t, placed, s1Replicas())
		require.Contains(t, s.logs.String(), "server beat for s1 at "+addrs[0]+" from chain://server/s2")
		serving("a forged server beat")
	})

	t.Run("placement from a server certificate listing the master's address", func(t *testing.T) {
		leaf, err := ca.Issue(auth.RoleServer, "s9", time.Hour, masterAddr)
		require.NoError(t, err)
		c := s.rawPeer(t, addrs[0], masterAddr, leaf)
		before := p.Servers[0].Unauthorized()
		require.NoError(t, writeMessage(t, c, &wire.ServerUpdate{HeartbeatEvery: time.Hour}))
		waitFor(t, func() bool { return p.Servers[0].Unauthorized() > before }, "the forged placement was not refused")
		require.NotEmpty(t, p.Servers[0].Replicas())
		require.Contains(t, s.logs.String(), "chain://server/s9 may not send ServerUpdate")
		serving("a forged placement")
	})

	t.Run("layout from a server certificate posing as master", func(t *testing.T) {
		// The client is told of a "master" that holds a server's
		// certificate for that address and answers with its own layout.
		fakePorts, err := launch.FreeLocalMembers(1)
		require.NoError(t, err)
		fake := fakePorts[0].Addr
		ep, err := mux.New(s.mtlsTransport(t, auth.RoleServer, "s9", fake)).Listen(fake)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ep.Close() })
		go func() {
			for in := range ep.Receive() {
				if r, ok := in.Msg.(*wire.ClusterRequest); ok {
					_ = ep.Send(context.Background(), in.From, &wire.ClusterUpdate{ID: r.ID,
						Cluster: wire.Cluster{Chains: []wire.ChainInfo{{ID: "evil", SlotHi: wire.Slots,
							Config: chain.Config{Epoch: 1, Members: []chain.Member{{ID: "s9/evil", Addr: fake + "/evil"}}}}}}})
				}
			}
		}()
		victim, err := partition.NewClient(partition.Options{Transport: s.mtlsTransport(t, auth.RoleClient, "app2"),
			Masters: []string{fake}, Logger: slog.New(slog.NewTextHandler(s.logs, nil))})
		require.NoError(t, err)
		t.Cleanup(func() { _ = victim.Close() })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := victim.Layout(ctx)
			done <- err
		}()
		waitFor(t, func() bool { return victim.Unauthorized() > 0 }, "the forged layout was not refused")
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		require.Contains(t, s.logs.String(), "chain://server/s9 may not send ClusterUpdate")
		serving("a forged layout")
	})
}
