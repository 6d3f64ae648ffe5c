package launch_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/inmem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestInmemConfig(t *testing.T) {
	cfg := launch.InmemConfig("n1", "n2")
	require.Equal(t, chain.Config{Epoch: 1, Members: []chain.Member{
		{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"},
	}}, cfg)
}

// startChain starts ids on a new in-memory network, closed at the end of
// the test.
func startChain(t *testing.T, cc launch.ChainConfig) *launch.Chain {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := launch.StartChain(ctx, cc)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	return cl
}

// requireConverged writes a key through the chain's client and requires
// every node's Store to hold it once the chain has converged.
func requireConverged(t *testing.T, cl *launch.Chain) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, cl.KV.Put(ctx, "k", []byte("v")))
	offset, err := cl.WaitConverged(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, offset, uint64(1))
	for _, n := range cl.Nodes {
		require.GreaterOrEqual(t, n.Stats().Applied, offset)
		require.Equal(t, map[string][]byte{"k": []byte("v")}, n.Store.Snapshot())
	}
}

func TestStartChainAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := launch.StartChain(ctx, launch.ChainConfig{Config: launch.InmemConfig("a", "b", "c")})
	require.NoError(t, err)
	require.Len(t, cl.Nodes, 3)
	require.Equal(t, chain.RoleHead, cl.Nodes[0].Role())
	require.Equal(t, chain.RoleMiddle, cl.Nodes[1].Role())
	require.Equal(t, chain.RoleTail, cl.Nodes[2].Role())
	require.Nil(t, cl.Master, "no master unless asked for")
	requireConverged(t, cl)

	require.NoError(t, cl.Close())
	require.NoError(t, cl.Close(), "Close is idempotent")
}

// TestStartChainWithMaster starts the master on a transport the caller
// owns: the nodes follow it, and closing the Chain leaves the transport
// open.
func TestStartChainWithMaster(t *testing.T) {
	network := inmem.New(inmem.Options{})
	defer func() { require.NoError(t, network.Close()) }()
	cl := startChain(t, launch.ChainConfig{Config: launch.InmemConfig("n1", "n2"), Transport: network, MasterAddr: "master"})
	require.NotNil(t, cl.Master)
	require.Equal(t, cl.Config, cl.Master.Config())
	requireConverged(t, cl)
	require.NoError(t, cl.Close())

	ep, err := network.Listen("still-open")
	require.NoError(t, err, "the caller's transport outlives the Chain")
	require.NoError(t, ep.Close())
}

// TestStartChainOnPebbleRecovers starts a chain on Pebble twice: the
// second start replays the logs into new Stores.
func TestStartChainOnPebbleRecovers(t *testing.T) {
	cc := launch.ChainConfig{Config: launch.InmemConfig("n1", "n2"), DataDir: t.TempDir(), NoSync: true}
	first := startChain(t, cc)
	requireConverged(t, first)
	require.NoError(t, first.Close())

	second := startChain(t, cc)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := second.WaitConverged(ctx)
	require.NoError(t, err)
	for _, n := range second.Nodes {
		require.Equal(t, map[string][]byte{"k": []byte("v")}, n.Store.Snapshot(), "node %s", n.ID())
	}
}

func TestStartChainFailureReleasesEverything(t *testing.T) {
	_, err := launch.StartChain(t.Context(), launch.ChainConfig{Config: launch.InmemConfig("n1", "n1")})
	require.ErrorIs(t, err, chain.ErrInvalidConfig)

	_, err = launch.StartChain(t.Context(), launch.ChainConfig{})
	require.ErrorIs(t, err, chain.ErrInvalidConfig)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = launch.StartChain(cancelled, launch.ChainConfig{Config: launch.InmemConfig("n1", "n2")})
	require.ErrorIs(t, err, context.Canceled)
	// goleak (TestMain) checks that no node, client or network is left.
}

func TestWaitConvergedHonoursContext(t *testing.T) {
	cl := startChain(t, launch.ChainConfig{Config: launch.InmemConfig("n1")})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := cl.WaitConverged(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestFreePortRange(t *testing.T) {
	base, err := launch.FreePortRange(3)
	require.NoError(t, err)
	for i := range 3 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
}

// TestStartPartitionedPlacesAndServes starts a master of two chains of two
// replicas and two servers, each server on a transport of its own: the
// chains are placed on the servers and serve the key-value store.
func TestStartPartitionedPlacesAndServes(t *testing.T) {
	network := inmem.New(inmem.Options{})
	defer func() { require.NoError(t, network.Close()) }()
	p, err := launch.StartPartitioned(launch.PartitionedConfig{
		MasterAddr: "master", ServerAddrs: []string{"server1", "server2"}, Chains: 2, Replicas: 2,
		Transport: network, ServerTransports: []chain.Transport{network, network}, FailureTimeout: 500 * time.Millisecond,
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()
	require.Len(t, p.Servers, 2)
	require.Equal(t, "s1", p.Servers[0].ID())

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	require.NoError(t, p.WaitPlaced(ctx))
	require.Len(t, p.Master.Cluster().Chains, 2)

	pc, err := partition.NewClient(partition.Options{Transport: network, Masters: []string{"master"}})
	require.NoError(t, err)
	defer pc.Close()
	kvc := kv.NewPartitionedClient(pc)
	for _, key := range []string{"a", "b", "c", "d"} {
		require.NoError(t, kvc.Put(ctx, key, []byte(key)))
	}
	n, err := kvc.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
}

func TestStartPartitionedRefusesMismatchedTransports(t *testing.T) {
	network := inmem.New(inmem.Options{})
	defer func() { require.NoError(t, network.Close()) }()
	_, err := launch.StartPartitioned(launch.PartitionedConfig{
		MasterAddr: "master", ServerAddrs: []string{"server1", "server2"}, Chains: 1, Replicas: 1,
		Transport: network, ServerTransports: []chain.Transport{network},
	})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

func TestWaitPlacedHonoursContext(t *testing.T) {
	network := inmem.New(inmem.Options{})
	defer func() { require.NoError(t, network.Close()) }()
	// Three replicas per chain but one server: the plan is never placed.
	p, err := launch.StartPartitioned(launch.PartitionedConfig{
		MasterAddr: "master", ServerAddrs: []string{"server1"}, Chains: 1, Replicas: 3, Transport: network,
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, p.WaitPlaced(ctx), context.Canceled)
}
