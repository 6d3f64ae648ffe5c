package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func TestJoinWait(t *testing.T) {
	for _, tc := range []struct{ ft, want time.Duration }{
		{0, joinWaitMin}, // a master that does not say
		{500 * time.Millisecond, joinWaitMin},
		{5 * time.Second, 10 * time.Second},
	} {
		require.Equal(t, tc.want, joinWait(tc.ft), "failure timeout %v", tc.ft)
	}
}

// TestAddNodeThatDoesNotRun: add-node of a node that is not running waits
// a bounded time for it, then says it has not joined yet.
func TestAddNodeThatDoesNotRun(t *testing.T) {
	c := startMasterChain(t)
	out, err := ctl(t, "-master", c.master, "add-node", "n4", c.spare)
	require.NoError(t, err)
	require.Contains(t, out, "added n4 at "+c.spare+": it joins behind the tail once it reaches the master")
	require.Contains(t, out, "master "+c.master+": epoch 1, joining: none yet (n4 joins once it reaches the master)\n")

	// Once it runs, it joins.
	c.startNode(t, "n4", chain.Config{}, c.spare)
	require.Eventually(t, func() bool { return c.config(t).Tail().ID == "n4" }, 10*time.Second, 10*time.Millisecond)
}
