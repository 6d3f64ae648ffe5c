package chain_test

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/kv"
)

const neverReturned = math.MaxInt64

func kvOp(client int, in chaintest.KVInput, out chaintest.KVOutput, call, ret int64) porcupine.Operation {
	if ret == neverReturned {
		out = chaintest.KVOutput{Unknown: true}
	}
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

func kvPut(key, value string) chaintest.KVInput {
	return chaintest.KVInput{Op: chaintest.KVPut, Key: key, Value: value}
}

// kvDel is a delete of key by the client at address addr.
func kvDel(addr, key, tag string) chaintest.KVInput {
	return chaintest.KVInput{Op: chaintest.KVDelete, Key: key, Value: kvDeleteTag(addr, tag)}
}

func putEntry(off uint64, client string, seq uint64, key, value string) chain.Entry {
	return chain.Entry{Offset: off, Client: client, Seq: seq, Command: kv.CmdPut, Data: kvPutPayload(key, value)}
}

func delEntry(off uint64, client string, seq uint64, key string) chain.Entry {
	return chain.Entry{Offset: off, Client: client, Seq: seq, Command: kv.CmdDelete, Data: kvKeyPayload(key)}
}

// TestKVStoreSettlesFailedWrites checks how the final log settles the
// kv-store workload's failed writes: each op's Return after settling, or
// dropped (the write never took effect), or still unknown.
func TestKVStoreSettlesFailedWrites(t *testing.T) {
	const (
		dropped = -1
		same    = 0 // unchanged
	)
	cases := []struct {
		name string
		ops  []porcupine.Operation
		log  []chain.Entry
		// want is, for each op, its Return after settling, dropped or
		// same.
		want []int64
	}{{
		name: "a failed put in the log took effect before the next write acknowledged in the log",
		ops: []porcupine.Operation{
			kvOp(0, kvPut("k", "v1"), chaintest.KVOutput{}, 0, 10),
			kvOp(1, kvPut("k", "v2"), chaintest.KVOutput{}, 15, neverReturned),
			kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
		},
		log:  []chain.Entry{putEntry(1, "a", 1, "k", "v1"), putEntry(2, "b", 1, "k", "v2"), putEntry(3, "c", 1, "j", "w")},
		want: []int64{same, 30, same},
	}, {
		name: "a failed put the log lacks never took effect",
		ops: []porcupine.Operation{
			kvOp(1, kvPut("k", "v2"), chaintest.KVOutput{}, 15, neverReturned),
			kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
		},
		log:  []chain.Entry{putEntry(1, "c", 1, "j", "w")},
		want: []int64{dropped, same},
	}, {
		name: "a failed delete in the log, its client's only delete of the key",
		ops: []porcupine.Operation{
			kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 15, neverReturned),
			kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
		},
		log:  []chain.Entry{delEntry(1, "a", 3, "k"), putEntry(2, "b", 1, "j", "w")},
		want: []int64{30, same},
	}, {
		name: "a failed delete the log lacks never took effect; others' deletes and other keys do not count",
		ops: []porcupine.Operation{
			kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 15, neverReturned),
			kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
		},
		log:  []chain.Entry{delEntry(1, "b", 3, "k"), delEntry(2, "a", 4, "m"), putEntry(3, "b", 5, "j", "w")},
		want: []int64{dropped, same},
	}, {
		name: "failed deletes of one client, all in the log, matched in the order of their sequence numbers",
		ops: []porcupine.Operation{
			kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 5, neverReturned),
			kvOp(1, kvDel("a", "k", "t2"), chaintest.KVOutput{}, 15, neverReturned),
			kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
			kvOp(2, kvPut("j", "w2"), chaintest.KVOutput{}, 40, 50),
		},
		// The first call's request arrived last.
		log: []chain.Entry{
			delEntry(1, "a", 8, "k"), putEntry(2, "b", 1, "j", "w"),
			delEntry(3, "a", 7, "k"), putEntry(4, "b", 2, "j", "w2"),
		},
		want: []int64{50, 30, same, same},
	}, {
		name: "one failed and one acknowledged delete, the log holds one: the failed one never took effect",
		ops: []porcupine.Operation{
			kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 5, neverReturned),
			kvOp(1, kvDel("a", "k", "t2"), chaintest.KVOutput{}, 10, 20),
		},
		log:  []chain.Entry{delEntry(1, "a", 9, "k")},
		want: []int64{dropped, same},
	}, {
		name: "two failed deletes of one client, the log holds one: which is unknown",
		ops: []porcupine.Operation{
			kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 5, neverReturned),
			kvOp(1, kvDel("a", "k", "t2"), chaintest.KVOutput{}, 10, neverReturned),
			kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
		},
		log:  []chain.Entry{delEntry(1, "a", 9, "k"), putEntry(2, "b", 1, "j", "w")},
		want: []int64{same, same, same},
	}, {
		name: "deletes of processes that share a client address took effect by the last of their entries",
		ops: []porcupine.Operation{
			kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 5, neverReturned),
			kvOp(2, kvDel("a", "k", "t2"), chaintest.KVOutput{}, 6, neverReturned),
			kvOp(3, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
			kvOp(3, kvPut("j", "w2"), chaintest.KVOutput{}, 40, 50),
		},
		log: []chain.Entry{
			delEntry(1, "a", 7, "k"), putEntry(2, "b", 1, "j", "w"),
			delEntry(3, "a", 8, "k"), putEntry(4, "b", 2, "j", "w2"),
		},
		want: []int64{50, 50, same, same},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := chaintest.SettleHistory(kvStoreWorkload{}, tc.ops, tc.log)
			k := 0
			for i, op := range tc.ops {
				if tc.want[i] == dropped {
					if k < len(got) && got[k].Input == op.Input {
						t.Errorf("op %d (%+v) kept, want it dropped", i, op.Input)
						k++
					}
					continue
				}
				if k >= len(got) || got[k].Input != op.Input {
					t.Fatalf("op %d (%+v) dropped, want it kept", i, op.Input)
				}
				want := tc.want[i]
				if want == same {
					want = op.Return
				}
				if got[k].Return != want {
					t.Errorf("op %d (%+v) returns at %d, want %d", i, op.Input, got[k].Return, want)
				}
				if out := got[k].Output.(chaintest.KVOutput); out.Unknown != (want == neverReturned) {
					t.Errorf("op %d (%+v) output %+v after settling", i, op.Input, out)
				}
				k++
			}
		})
	}
}

// A compare-and-set whose call failed is given what the log says it did.
func TestKVStoreSettlesACompareAndSet(t *testing.T) {
	cas := chaintest.KVInput{Op: chaintest.KVCompareAndSet, Key: "k", Value: "b", Expected: "a", ExpectedFound: true}
	ops := []porcupine.Operation{
		kvOp(0, kvPut("k", "a"), chaintest.KVOutput{}, 0, 10),
		kvOp(1, cas, chaintest.KVOutput{}, 15, neverReturned),
	}
	log := []chain.Entry{
		putEntry(1, "a", 1, "k", "a"),
		{Offset: 2, Client: "b", Seq: 1, Command: kv.CmdCAS, Data: kvCASPayload("k", "a", true, "b")},
	}
	got := chaintest.SettleHistory(kvStoreWorkload{}, ops, log)
	if len(got) != 2 || got[1].Output != (chaintest.KVOutput{Swapped: true}) {
		t.Fatalf("settled = %+v, want the compare-and-set swapped", got)
	}
}

// A get that misses a failed delete which, by the log, took effect before
// a later write was acknowledged is stale: settling makes the check see
// it, which it cannot while the delete might have taken effect any time.
func TestKVStoreSettledStaleGet(t *testing.T) {
	ops := []porcupine.Operation{
		kvOp(0, kvPut("k", "v1"), chaintest.KVOutput{}, 0, 10),
		kvOp(1, kvDel("a", "k", "t1"), chaintest.KVOutput{}, 15, neverReturned),
		kvOp(2, kvPut("j", "w"), chaintest.KVOutput{}, 20, 30),
		kvOp(0, chaintest.KVInput{Op: chaintest.KVGet, Key: "k"}, chaintest.KVOutput{Value: "v1", Found: true}, 40, 50),
	}
	log := []chain.Entry{putEntry(1, "c", 1, "k", "v1"), delEntry(2, "a", 1, "k"), putEntry(3, "b", 1, "j", "w")}
	model := chaintest.KVModel()
	if !porcupine.CheckOperations(model, ops) {
		t.Fatal("the unsettled history is not linearizable")
	}
	if porcupine.CheckOperations(model, chaintest.SettleHistory(kvStoreWorkload{}, ops, log)) {
		t.Fatal("the settled history is linearizable, though the get missed a delete that took effect before it")
	}
}
