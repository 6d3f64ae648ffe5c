package chain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
)

// TestLogFeedsDownstreamConsumers consumes a middle node's log in order
// with Read and WaitCommitted while a client appends.
func TestLogFeedsDownstreamConsumers(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 3})
	log := c.Node(1).Log()
	ctx := testCtx(t)
	const total = 200
	done := make(chan error, 1)
	go func() {
		cl := c.Client()
		for i := range total {
			if _, err := cl.Append(ctx, []byte(fmt.Sprint(i))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	next := uint64(1)
	for next <= total {
		require.NoError(t, log.WaitCommitted(ctx, next))
		ents, err := log.Read(ctx, next, 50)
		require.NoError(t, err)
		require.NotEmpty(t, ents)
		for _, e := range ents {
			require.Equal(t, next, e.Offset)
			require.Equal(t, fmt.Sprint(next-1), string(e.Data))
			require.LessOrEqual(t, e.Offset, log.CommitPoint())
			next++
		}
	}
	require.NoError(t, <-done)
	require.Equal(t, uint64(total), log.CommitPoint())
	require.Equal(t, uint64(1), log.FirstOffset())
}

func TestLogReadRejectsBadRanges(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 1})
	log := c.Node(0).Log()
	ctx := testCtx(t)
	_, err := log.Read(ctx, 0, 1)
	require.ErrorIs(t, err, chain.ErrOutOfRange)
	_, err = log.Read(ctx, 1, 0)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	ents, err := log.Read(ctx, 1, 10)
	require.NoError(t, err)
	require.Empty(t, ents)

	// WaitCommitted returns ErrClosed once the node stops.
	done := make(chan error, 1)
	go func() { done <- log.WaitCommitted(ctx, 5) }()
	time.Sleep(10 * time.Millisecond)
	c.Kill(0)
	select {
	case err := <-done:
		require.ErrorIs(t, err, chain.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("WaitCommitted did not return after Close")
	}
}
