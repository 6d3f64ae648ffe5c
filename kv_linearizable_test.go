package chain_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/kv"
)

// TestKVUnderSimulatedFaults runs the key-value store of package kv under
// the simulation's default faults (see chaintest.Simulate): on chains,
// static or under masters, and on partitioned clusters, clients put, get,
// delete and compare-and-set a few hot keys through kv.Client; each
// schedule's history, which ends with a get of every key, is checked with
// chaintest.KVModel, and the replicas' logs must be identical. The writes
// whose calls failed are settled with the final log (kvStoreWorkload is a
// chaintest.ClientSettler), so the check does not search over their
// outcomes.
func TestKVUnderSimulatedFaults(t *testing.T) {
	chaintest.Simulate(t, chaintest.SimOptions{Workloads: []chaintest.Workload{kvStoreWorkload{}}, Schedules: kvSimulatedSchedules})
}

// TestKVSimulatedSeeds replays schedules of TestKVUnderSimulatedFaults
// that once failed, with the default faults. 1949211192598794111: a
// partitioned cluster whose server 1 was paused twice while isolated; the
// end of the first pause let it count as reachable, so server 3, the other
// replica of chain c1, was crashed, and c1 lost its log (both replicas
// gone), a loss the schedule must not cause.
func TestKVSimulatedSeeds(t *testing.T) {
	for _, seed := range []int64{1949211192598794111} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			faults := chaintest.DefaultFaults()
			chaintest.RunSchedule(t, chaintest.DrawSchedule(seed, []chaintest.Workload{kvStoreWorkload{}}, faults), faults)
		})
	}
}

// kvStoreWorkload is a chaintest.Workload over package kv: a kv.Store on
// every node, kv.Client calls recorded for chaintest.KVModel. Each put and
// compare-and-set writes a value of its own; a delete, whose entry holds
// only its key, carries its client's address in KVInput.Value (see
// kvDeleteTag), so the log names the client that made it.
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
	// rec records call as in; a write's outcome names command and payload,
	// for the harness's check of writes refused as applied before.
	rec := func(in chaintest.KVInput, command string, payload []byte, call func() (chaintest.KVOutput, error)) chaintest.Outcome {
		p := op.Recorder.Begin(op.ID, in)
		out, err := call()
		var w *chaintest.Write
		if command != "" {
			w = &chaintest.Write{Command: command, Data: payload}
		}
		switch {
		case err == nil:
			p.End(out)
		case in.Op == chaintest.KVGet:
			p.Discard()
		default:
			p.Unknown(chaintest.KVOutput{Unknown: true})
		}
		return chaintest.Outcome{Write: w, Err: err}
	}
	get := func() (chaintest.KVOutput, error) {
		v, found, err := kvc.Get(ctx, key)
		return chaintest.KVOutput{Value: string(v), Found: found}, err
	}
	roll := op.Rand.IntN(4)
	switch {
	case op.Kind == chaintest.ReadOp || (op.Kind == chaintest.AnyOp && roll == 0):
		return rec(chaintest.KVInput{Op: chaintest.KVGet, Key: key}, "", nil, get)
	case roll <= 1:
		in := chaintest.KVInput{Op: chaintest.KVPut, Key: key, Value: value}
		return rec(in, kv.CmdPut, kvPutPayload(key, value), func() (chaintest.KVOutput, error) {
			return chaintest.KVOutput{}, kvc.Put(ctx, key, []byte(value))
		})
	case roll == 2:
		in := chaintest.KVInput{Op: chaintest.KVDelete, Key: key, Value: kvDeleteTag(op.Client.Addr(), value)}
		return rec(in, kv.CmdDelete, kvKeyPayload(key), func() (chaintest.KVOutput, error) {
			_, err := kvc.Delete(ctx, key)
			return chaintest.KVOutput{}, err
		})
	}
	cur, err := get()
	if err != nil {
		return chaintest.Outcome{Err: err}
	}
	in := chaintest.KVInput{Op: chaintest.KVCompareAndSet, Key: key, Value: value, Expected: cur.Value, ExpectedFound: cur.Found}
	return rec(in, kv.CmdCAS, kvCASPayload(key, cur.Value, cur.Found, value), func() (chaintest.KVOutput, error) {
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
