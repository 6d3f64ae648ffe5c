package chaintest_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/wire"
)

// TestPartitionedServesEveryChain: on four servers holding four chains of
// three replicas, each key's command runs on its chain, and every chain
// takes raw appends. In virtual time: in real time, a busy machine
// delayed the servers' beats past the master's failure timeout.
func TestPartitionedServesEveryChain(t *testing.T) { synctest.Test(t, testPartitionedServesEveryChain) }

func testPartitionedServesEveryChain(t *testing.T) {
	p := chaintest.StartPartitioned(t, chaintest.PartitionedOptions{Servers: 4, Chains: 4, Replicas: 3,
		Setup: func(r wire.Replica, n *chain.Node) error {
			return n.Handle("echo", func(_ context.Context, e chain.Entry) ([]byte, error) {
				return append([]byte(r.Chain+":"), e.Data...), nil
			})
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := p.Client()
	layout, err := c.Layout(ctx)
	require.NoError(t, err)
	require.Len(t, layout.Chains, 4)
	for i := range 40 {
		key := []byte(fmt.Sprintf("key-%d", i))
		ch, err := c.ChainOf(ctx, key)
		require.NoError(t, err)
		got, err := c.Do(ctx, key, "echo", key)
		require.NoError(t, err)
		require.Equal(t, ch.ID+":"+string(key), string(got), "key %s went to its chain", key)
	}
	for _, ch := range layout.Chains {
		cl, err := c.Chain(ctx, ch.ID)
		require.NoError(t, err)
		off, err := cl.Append(ctx, []byte("raw"))
		require.NoError(t, err)
		ents, err := cl.Read(ctx, off, 1)
		require.NoError(t, err)
		require.Equal(t, "raw", string(ents[0].Data))
	}
	_, err = c.Chain(ctx, "nope")
	require.Error(t, err)
}
