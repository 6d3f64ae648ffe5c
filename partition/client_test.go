package partition_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/inmem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewClientRefusesBadOptions(t *testing.T) {
	_, err := partition.NewClient(partition.Options{Masters: []string{"m"}})
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
	net := inmem.New(inmem.Options{})
	defer net.Close()
	_, err = partition.NewClient(partition.Options{Transport: net})
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
}

// TestLayoutWaitsForChains asks a master that has no servers yet, so no
// chains: Layout keeps asking until its context ends, and says why.
func TestLayoutWaitsForChains(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	m, err := master.Start(master.Options{Transport: net, Addr: "master", Chains: 4, Replicas: 3})
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()
	c, err := partition.NewClient(partition.Options{Transport: net, Masters: []string{"master"}, RetryInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()

	u, err := c.Status(context.Background())
	require.NoError(t, err)
	require.False(t, u.Follower)
	require.Equal(t, "master", u.Leader)
	require.Empty(t, u.Cluster.Chains)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = c.Do(ctx, []byte("k"), "put", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "no chains yet")
}

func TestStatusFailsWithoutMasters(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	c, err := partition.NewClient(partition.Options{Transport: net, Masters: []string{"nobody"}, RetryInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	_, err = c.Status(context.Background())
	require.Error(t, err)
	require.NoError(t, c.Close())
	_, err = c.Chain(context.Background(), "c0")
	require.Error(t, err)
}
