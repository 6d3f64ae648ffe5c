package chain_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/wire"
)

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
