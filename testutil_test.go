package chain_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
)

// testCtx returns a context that bounds a test step; a step that hangs
// fails instead of blocking the suite.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// counter is a test state machine: "incr" adds one and returns the new
// count, "count" reads it. It records how often each command ran.
type counter struct {
	mu    sync.Mutex
	n     uint64
	calls int
}

func (c *counter) register(n *chain.Node) error {
	if err := n.Handle("incr", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.n++
		c.calls++
		return binary.BigEndian.AppendUint64(nil, c.n), nil
	}); err != nil {
		return err
	}
	if err := n.Handle("fail", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		return nil, errFailing
	}); err != nil {
		return err
	}
	if err := n.Handle("panic", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		panic("handler bug")
	}); err != nil {
		return err
	}
	if err := n.Handle("big", func(ctx context.Context, e chain.Entry) ([]byte, error) {
		return make([]byte, binary.BigEndian.Uint32(e.Data)), nil
	}); err != nil {
		return err
	}
	if err := n.HandleQuery("panic", func(ctx context.Context, q []byte) ([]byte, error) {
		panic("query bug")
	}); err != nil {
		return err
	}
	return n.HandleQuery("count", func(ctx context.Context, q []byte) ([]byte, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return binary.BigEndian.AppendUint64(nil, c.n), nil
	})
}

func (c *counter) value() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// counterCluster starts a chain whose nodes each run a counter; counters[i]
// is node i's (replaced on restart).
func counterCluster(t *testing.T, opts chaintest.Options) (*chaintest.Cluster, func(i int) *counter) {
	var mu sync.Mutex
	counters := make(map[int]*counter)
	opts.Setup = func(i int, n *chain.Node) error {
		c := &counter{}
		mu.Lock()
		counters[i] = c
		mu.Unlock()
		return c.register(n)
	}
	cl := chaintest.Start(t, opts)
	return cl, func(i int) *counter {
		mu.Lock()
		defer mu.Unlock()
		return counters[i]
	}
}

func decodeCount(t *testing.T, b []byte) uint64 {
	t.Helper()
	require.Len(t, b, 8)
	return binary.BigEndian.Uint64(b)
}
