package chain_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/pebble"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// crashableChain is a static chain of n nodes on Pebble over crashable
// in-memory filesystems, for tests of what survives a crash of every node.
type crashableChain struct {
	t     *testing.T
	net   *inmem.Network
	cfg   chain.Config
	fss   []*vfs.MemFS
	nodes []*chain.Node
	sts   []*pebble.Storage
	setup func(i int, n *chain.Node) error // registers handlers, before every start
}

func newCrashableChain(t *testing.T, n int, setup func(i int, n *chain.Node) error) *crashableChain {
	c := &crashableChain{t: t, net: inmem.New(inmem.Options{}), cfg: chain.Config{Epoch: 1}, setup: setup}
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		c.cfg.Members = append(c.cfg.Members, chain.Member{ID: id, Addr: id})
		c.fss = append(c.fss, vfs.NewCrashableMem())
	}
	c.nodes = make([]*chain.Node, n)
	c.sts = make([]*pebble.Storage, n)
	for i := range n {
		c.start(i)
	}
	return c
}

func (c *crashableChain) start(i int) {
	st, err := pebble.Open("node", pebble.WithFS(c.fss[i]))
	require.NoError(c.t, err)
	node, err := chain.NewNode(c.cfg.Members[i].ID, chain.WithTransport(c.net), chain.WithStorage(st), chain.WithConfig(c.cfg))
	require.NoError(c.t, err)
	if c.setup != nil {
		require.NoError(c.t, c.setup(i, node))
	}
	require.NoError(c.t, node.Start(context.Background()))
	c.nodes[i], c.sts[i] = node, st
}

// crashAll takes every node's disk as synced (tail first, as crashes a
// moment apart would leave them), stops the nodes and restarts them on
// those disks: nothing a node did not sync, and nothing it saved at Close,
// survives.
func (c *crashableChain) crashAll() {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := len(c.fss) - 1; i >= 0; i-- {
		c.fss[i] = c.fss[i].CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0, RNG: rng})
	}
	for i := range c.nodes {
		require.NoError(c.t, c.nodes[i].Close())
		require.NoError(c.t, c.sts[i].Close())
	}
	for i := range c.nodes {
		c.start(i)
	}
}

func (c *crashableChain) close() {
	for i := range c.nodes {
		require.NoError(c.t, c.nodes[i].Close())
		require.NoError(c.t, c.sts[i].Close())
	}
}

// TestRestartedTailCommitsWhatItHolds: after a crash of every node, the
// tail of a static chain (and a sole member, its own tail) commits what its
// log holds at once: every entry there is held by every member before it.
// A tail that waited for a saved commit point instead hid acknowledged
// writes (Latest 0 after an acknowledged append) and left their retries
// unanswered.
func TestRestartedTailCommitsWhatItHolds(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCrashableChain(t, nodes, nil)
				defer c.close()
				cl, err := chain.NewClient(chain.WithTransport(c.net), chain.WithConfig(c.cfg))
				require.NoError(t, err)
				defer cl.Close()
				off, err := cl.Append(t.Context(), []byte("acknowledged"))
				require.NoError(t, err)

				c.crashAll()
				latest, err := cl.Latest(t.Context())
				require.NoError(t, err)
				require.GreaterOrEqual(t, latest, off, "the acknowledged append is committed after the restart")
				ents, err := cl.Read(t.Context(), off, 1)
				require.NoError(t, err)
				require.Len(t, ents, 1)
				require.Equal(t, "acknowledged", string(ents[0].Data))
			})
		})
	}
}

// TestRetryAfterRestartIsNotOrderedAgain: a sole member restarted after a
// crash commits the entries its log holds beyond the saved commit point;
// until it has applied them they are in flight, so a client's retry of one
// of them is not put in the log a second time (which would apply it
// twice), and the retry is answered with the first result.
func TestRetryAfterRestartIsNotOrderedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		counters := make([]*counter, 0, 2)
		c := newCrashableChain(t, 1, func(i int, n *chain.Node) error {
			cnt := &counter{}
			counters = append(counters, cnt)
			return cnt.register(n)
		})
		defer c.close()
		ep, err := c.net.Listen("client")
		require.NoError(t, err)
		defer ep.Close()
		req := &wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Session: 7, Name: "incr"}
		first := roundTrip(t, ep, "n1", req)
		require.Nil(t, first.Err)

		c.crashAll()
		retry := roundTrip(t, ep, "n1", req)
		require.Nil(t, retry.Err)
		require.Equal(t, first.Result, retry.Result)
		require.NoError(t, c.nodes[0].WaitApplied(t.Context(), c.nodes[0].Log().LastOffset()))
		require.Equal(t, uint64(1), c.nodes[0].Log().LastOffset(), "the retry was not appended again")
		require.Equal(t, 1, counters[len(counters)-1].calls, "the restarted node applied the command once")
	})
}
