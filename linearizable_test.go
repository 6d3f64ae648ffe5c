package chain_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/kv"
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

// TestKVUnderSimulatedFaults runs the key-value store of package kv under
// the simulation's default faults (see chaintest.Simulate): on chains,
// static or under masters, and on partitioned clusters, clients put, get,
// delete and compare-and-set a few hot keys through kv.Client; each
// schedule's history, which ends with a get of every key, is checked with
// chaintest.KVModel, and the replicas' logs must be identical.
//
// Bursts of new sessions, with their replies lost, stay out: they leave
// writes of unknown outcome, and this workload does not settle them with
// the final log (chaintest.Settler), so porcupine's search over them can
// outrun any bound. TestSimulation runs them on workloads that settle.
func TestKVUnderSimulatedFaults(t *testing.T) {
	faults := chaintest.DefaultFaults()
	delete(faults, chaintest.FaultSessionBurst)
	delete(faults, chaintest.FaultSessionEviction)
	delete(faults, chaintest.FaultFlood)
	chaintest.Simulate(t, chaintest.SimOptions{Workloads: []chaintest.Workload{kvStoreWorkload{}}, Schedules: kvSimulatedSchedules, Faults: faults})
}

// kvStoreWorkload is a chaintest.Workload over package kv: a kv.Store on
// every node, kv.Client calls recorded for chaintest.KVModel.
type kvStoreWorkload struct{}

var kvStoreKeys = []string{"a", "b", "c", "d"}

func (kvStoreWorkload) Name() string { return "kv-store" }

func (kvStoreWorkload) Setup(n *chain.Node) error { return kv.New().Register(n) }

func (kvStoreWorkload) Model() porcupine.Model { return chaintest.KVModel() }

// Operate runs one random operation; a compare-and-set expects what a get
// just saw, so that some succeed.
func (kvStoreWorkload) Operate(ctx context.Context, op chaintest.Operation) chaintest.Outcome {
	kvc := kv.NewClient(op.Client)
	key := kvStoreKeys[op.Rand.IntN(len(kvStoreKeys))]
	value := fmt.Sprintf("c%d-%d", op.ID, op.Seq)
	rec := func(in chaintest.KVInput, call func() (chaintest.KVOutput, error)) chaintest.Outcome {
		p := op.Recorder.Begin(op.ID, in)
		out, err := call()
		switch {
		case err == nil:
			p.End(out)
		case in.Op == chaintest.KVGet:
			p.Discard()
		default:
			p.Unknown(chaintest.KVOutput{Unknown: true})
		}
		return chaintest.Outcome{Err: err}
	}
	get := func() (chaintest.KVOutput, error) {
		v, found, err := kvc.Get(ctx, key)
		return chaintest.KVOutput{Value: string(v), Found: found}, err
	}
	roll := op.Rand.IntN(4)
	switch {
	case op.Kind == chaintest.ReadOp || (op.Kind == chaintest.AnyOp && roll == 0):
		return rec(chaintest.KVInput{Op: chaintest.KVGet, Key: key}, get)
	case roll <= 1:
		return rec(chaintest.KVInput{Op: chaintest.KVPut, Key: key, Value: value}, func() (chaintest.KVOutput, error) {
			return chaintest.KVOutput{}, kvc.Put(ctx, key, []byte(value))
		})
	case roll == 2:
		return rec(chaintest.KVInput{Op: chaintest.KVDelete, Key: key}, func() (chaintest.KVOutput, error) {
			_, err := kvc.Delete(ctx, key)
			return chaintest.KVOutput{}, err
		})
	}
	cur, err := get()
	if err != nil {
		return chaintest.Outcome{Err: err}
	}
	in := chaintest.KVInput{Op: chaintest.KVCompareAndSet, Key: key, Value: value, Expected: cur.Value, ExpectedFound: cur.Found}
	return rec(in, func() (chaintest.KVOutput, error) {
		swapped, err := kvc.CompareAndSet(ctx, key, []byte(cur.Value), cur.Found, []byte(value))
		return chaintest.KVOutput{Swapped: swapped}, err
	})
}

// Final gets every key.
func (kvStoreWorkload) Final(ctx context.Context, op chaintest.Operation) error {
	kvc := kv.NewClient(op.Client)
	for _, key := range kvStoreKeys {
		p := op.Recorder.Begin(op.ID, chaintest.KVInput{Op: chaintest.KVGet, Key: key})
		v, found, err := kvc.Get(ctx, key)
		if err != nil {
			p.Discard()
			return fmt.Errorf("get %s: %w", key, err)
		}
		p.End(chaintest.KVOutput{Value: string(v), Found: found})
	}
	return nil
}
