package chain_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chainrep/chain/chaintest"
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
