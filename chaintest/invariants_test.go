package chaintest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
)

// appendTo writes an entry straight into node i's storage, behind the
// protocol's back, to give the invariant checks something to find.
func appendTo(t *testing.T, c *Cluster, i int, data string) {
	t.Helper()
	st := c.Storage(i)
	require.NoError(t, st.Append([]chain.Entry{{Offset: st.LastOffset() + 1, Epoch: 1, Data: []byte(data)}}))
}

func TestInvariantChecksHoldOnAHealthyChain(t *testing.T) {
	c := Start(t, Options{Nodes: 3})
	stop := c.WatchInvariants(time.Millisecond)
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 50 {
		_, err := cl.Append(ctx, []byte("x"))
		require.NoError(t, err)
	}
	require.NoError(t, c.WaitConverged(ctx))
	require.Zero(t, stop())
}

// TestInvariantChecksFindABrokenPrefix: a successor longer than its
// predecessor, or an entry that differs between them, breaks invariant 1.
func TestInvariantChecksFindABrokenPrefix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  int
		writes []string // to the last len(writes) nodes, each killed first
	}{
		{"a longer successor", 3, []string{"only the tail has this"}},
		{"a divergent entry", 2, []string{"head's version", "tail's version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Start(t, Options{Nodes: tc.nodes})
			first := tc.nodes - len(tc.writes)
			for i := range tc.writes {
				c.Kill(first + i)
			}
			for i, w := range tc.writes {
				appendTo(t, c, first+i, w)
			}
			v := c.Violations()
			require.NotEmpty(t, v)
			require.Contains(t, v[0], "invariant 1")
		})
	}
}

func TestInvariantChecksFindADoubleApply(t *testing.T) {
	c := Start(t, Options{Nodes: 1})
	inc := c.inv.newIncarnation(0)
	e := chain.Entry{Offset: 1, Client: "c", Seq: 1}
	inc.observe(e)
	e.Offset = 2
	inc.observe(e)
	v := c.Violations()
	require.Len(t, v, 1)
	require.Contains(t, v[0], "invariant 5")
}

// appendOne appends an entry through a new client of c and returns the
// context it used, which bounds the test's next steps too.
func appendOne(t *testing.T, c *Cluster) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	_, err := c.Client().Append(ctx, []byte("x"))
	require.NoError(t, err)
	return ctx
}

func TestInvariantChecksFindACommitPointMovingBack(t *testing.T) {
	c := Start(t, Options{Nodes: 1})
	appendOne(t, c)
	require.Empty(t, c.Violations())
	// Restart on a fresh storage: the node's commit point is back at 0.
	c.Kill(0)
	c.stores[0] = memory.New() // the old one is dropped unclosed: memory only
	c.Restart(0)
	v := c.Violations()
	require.NotEmpty(t, v)
	require.Contains(t, v[0], "invariant 3")
}

func TestInvariantChecksFindAnAcknowledgmentBeyondTheSuccessorsLog(t *testing.T) {
	c := Start(t, Options{Nodes: 2})
	// The head has entries the tail acknowledged; the tail then loses them
	// (a fresh storage), which the head cannot know.
	ctx := appendOne(t, c)
	require.NoError(t, c.WaitConverged(ctx))
	require.Eventually(t, func() bool { return c.Node(0).Stats().SuccessorAcked == 1 }, 10*time.Second, time.Millisecond)
	c.Kill(1)
	c.Network().Isolate(c.Addr(1)) // keep it from pulling the entry again
	c.stores[1] = memory.New()     // the old one is dropped unclosed: memory only
	c.Restart(1)
	var found bool
	for _, v := range c.Violations() {
		found = found || strings.Contains(v, "invariant 2")
	}
	require.True(t, found)
}
