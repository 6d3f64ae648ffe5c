package master

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// TestWipedHeadRejoinsAsNewNode is defect 1 of issue 12 end to end: the
// head restarts on an empty storage before the master notices it was
// gone, with the original member list. It must never act as a member of
// its old configuration (as head it reused offsets, and acknowledged
// writes were lost): it takes no place until the master confirms one,
// the master removes it (its storage is not the one recorded), and it
// rejoins behind the tail, catching up; every acknowledged write stays at
// its offset.
func TestWipedHeadRejoinsAsNewNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startTestChain(t, 3)
		cl := c.client()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		acked := map[uint64]string{}
		write := func(s string) {
			off, err := cl.Append(ctx, []byte(s))
			require.NoError(t, err)
			acked[off] = s
		}
		for _, s := range []string{"a", "b", "c"} {
			write(s)
		}
		require.NoError(t, c.nodes["n1"].Close())
		n1 := c.startNode("n1", chain.WithConfig(c.cfg)) // a new, empty storage
		for range 50 {
			synctest.Wait()
			cfg := n1.Config()
			require.False(t, n1.Role().IsMember() && n1.Log().LastOffset() < 3,
				"the wiped node runs as %v at epoch %d with %d entries", n1.Role(), cfg.Epoch, n1.Log().LastOffset())
			time.Sleep(10 * time.Millisecond)
		}
		write("d")
		_, ok := waitFor(5*bubbleTimeout, func() bool {
			cfg := c.master.Config()
			return len(cfg.Members) == 3 && cfg.Joining == nil && cfg.Tail().ID == "n1" && n1.Stats().CommitPoint >= 4
		})
		require.True(t, ok, "%+v", c.master.Config())
		write("e")
		ents, err := cl.Read(ctx, 1, 10)
		require.NoError(t, err)
		require.Len(t, ents, len(acked))
		for _, e := range ents {
			require.Equal(t, acked[e.Offset], string(e.Data), "offset %d", e.Offset)
		}
	})
}
