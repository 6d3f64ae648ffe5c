package chain_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
)

// runSeeds returns the seeds of the fault runs: CHAIN_SEED replays one;
// CHAIN_RUNS (default 3) sets how many fresh ones to draw.
func runSeeds(t *testing.T) []int64 {
	t.Helper()
	if s := os.Getenv("CHAIN_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("CHAIN_SEED=%q: %v", s, err)
		}
		return []int64{seed}
	}
	runs := 3
	if s := os.Getenv("CHAIN_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CHAIN_RUNS=%q: want a positive integer", s)
		}
		runs = n
	}
	seeds := make([]int64, runs)
	base := time.Now().UnixNano()
	for i := range seeds {
		seeds[i] = base + int64(i)
	}
	return seeds
}

// networkFaults are the faults of the linearizability runs: messages are
// delayed, duplicated and reordered, and a few are lost.
var networkFaults = inmem.Faults{
	Drop: 0.02, Duplicate: 0.1, Delay: 0.1, Reorder: 0.2,
	MaxDelay: 3 * time.Millisecond, ReorderWindow: time.Millisecond,
}

// faultyChain starts a 3-node chain with fast retries, the network faults
// on, and invariants watched; the returned stop checks the invariants.
func faultyChain(t *testing.T, seed int64, setup func(i int, n *chain.Node) error) (*chaintest.Cluster, func() int) {
	c := chaintest.Start(t, chaintest.Options{
		Nodes: 3, Seed: seed, Setup: setup,
		NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
		ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 40*time.Millisecond)},
	})
	if err := c.Network().SetFaults(networkFaults); err != nil {
		t.Fatal(err)
	}
	return c, c.WatchInvariants(2 * time.Millisecond)
}

// TestLogLinearizableUnderFaults records concurrent appends and reads on a
// 3-node chain whose network delays, duplicates, reorders and drops
// messages, checks the history with porcupine, and checks that every
// acknowledged append is in the log afterwards.
func TestLogLinearizableUnderFaults(t *testing.T) {
	for _, seed := range runSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			c, stopWatch := faultyChain(t, seed, nil)
			w := startLogWorkload(c, seed, 6, 120)
			w.wg.Wait()
			w.finish(t, c, stopWatch, seed)
		})
	}
}

// checkAcknowledgedAppends reads the whole log at the tail and fails the
// test for any acknowledged append that is missing or changed.
func checkAcknowledgedAppends(t *testing.T, c *chaintest.Cluster, acked map[uint64]string, seed int64) {
	t.Helper()
	ctx := testCtx(t)
	cl := c.Client()
	latest, err := cl.Latest(ctx)
	if err != nil {
		t.Fatalf("seed %d: latest: %v", seed, err)
	}
	log := make(map[uint64]string, latest)
	for from := uint64(1); from <= latest; {
		ents, err := cl.Read(ctx, from, 1000)
		if err != nil {
			t.Fatalf("seed %d: read from %d: %v", seed, from, err)
		}
		for _, e := range ents {
			log[e.Offset] = string(e.Data)
		}
		from += uint64(len(ents))
	}
	for off, data := range acked {
		if got, ok := log[off]; !ok || got != data {
			t.Errorf("seed %d: acknowledged append %q at offset %d is %q in the log", seed, data, off, got)
		}
	}
	t.Logf("%d acknowledged appends, all present in a log of %d entries", len(acked), latest)
}
