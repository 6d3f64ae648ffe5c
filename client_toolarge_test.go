package chain_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
)

// TestClientRefusesOversizedPayloadsAtOnce: a payload over the max entry
// size fails with ErrTooLarge before anything is sent: no node listens
// here, so a request that went out would wait for the deadline.
func TestClientRefusesOversizedPayloadsAtOnce(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	c, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg), chain.WithMaxEntrySize(1000))
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	big := make([]byte, 1001)
	_, err = c.Append(ctx, big)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	_, err = c.Do(ctx, "put", big)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	_, err = c.Query(ctx, "get", big)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	require.NoError(t, ctx.Err(), "the calls waited")

	_, err = chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg), chain.WithMaxEntrySize(0))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
}
