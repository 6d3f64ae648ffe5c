package chaintest

import (
	"math"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

func kvEntry(off uint64, command string, fields ...string) chain.Entry {
	return chain.Entry{Offset: off, Command: command, Data: kvEncode(fields...)}
}

func TestSettleWithTheFinalLog(t *testing.T) {
	const never = math.MaxInt64
	op := func(client int, in, out any, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
	}
	cases := []struct {
		name string
		w    Workload
		ops  []porcupine.Operation
		log  []chain.Entry
		// before and after: the verdict without and with settling.
		before, after bool
	}{{
		// A put that failed but is in the log took effect before the put
		// acknowledged after it in the log: a get after that sees it.
		name: "stale get after a failed put in the log",
		w:    KVWorkload{},
		ops: []porcupine.Operation{
			op(0, KVInput{Op: KVPut, Key: "k", Value: "v1"}, KVOutput{}, 0, 10),
			op(1, KVInput{Op: KVPut, Key: "k", Value: "v2"}, KVOutput{Unknown: true}, 15, never),
			op(2, KVInput{Op: KVPut, Key: "j", Value: "w"}, KVOutput{}, 20, 30),
			op(0, KVInput{Op: KVGet, Key: "k"}, KVOutput{Value: "v1", Found: true}, 40, 50),
		},
		log: []chain.Entry{
			kvEntry(1, kvPutCommand, "k", "v1", "v1"),
			kvEntry(2, kvPutCommand, "k", "v2", "v2"),
			kvEntry(3, kvPutCommand, "j", "w", "w"),
		},
		before: true, after: false,
	}, {
		// A failed append the log does not hold never took effect: a read
		// that returned it read an entry the chain lost.
		name: "read of a failed append the log lost",
		w:    LogWorkload{},
		ops: []porcupine.Operation{
			op(0, LogInput{Op: LogAppend, Data: "x"}, LogOutput{Unknown: true}, 0, never),
			op(1, LogInput{Op: LogRead, From: 1, Max: 2}, LogOutput{Entries: []string{"x"}}, 10, 20),
		},
		log:    nil,
		before: true, after: false,
	}, {
		// A failed compare-and-set in the log swapped if its condition held
		// in log order; a get after a later acknowledged write sees it.
		name: "failed compare-and-set that swapped",
		w:    KVWorkload{},
		ops: []porcupine.Operation{
			op(0, KVInput{Op: KVPut, Key: "k", Value: "a"}, KVOutput{}, 0, 10),
			op(1, KVInput{Op: KVCompareAndSet, Key: "k", Value: "b", Expected: "a", ExpectedFound: true}, KVOutput{Unknown: true}, 15, never),
			op(2, KVInput{Op: KVDelete, Key: "j", Value: "d"}, KVOutput{}, 20, 30),
			op(0, KVInput{Op: KVGet, Key: "k"}, KVOutput{Value: "b", Found: true}, 40, 50),
		},
		log: []chain.Entry{
			kvEntry(1, kvPutCommand, "k", "a", "a"),
			kvEntry(2, kvCASCommand, "k", "b", "1", "a"),
			kvEntry(3, kvDelCommand, "j", "d"),
		},
		before: true, after: true,
	}, {
		// Failed appends in the log take their offsets; those it lacks are
		// dropped; reads agree.
		name: "failed appends placed by the log",
		w:    LogWorkload{},
		ops: []porcupine.Operation{
			op(0, LogInput{Op: LogAppend, Data: "a"}, LogOutput{Unknown: true}, 0, never),
			op(1, LogInput{Op: LogAppend, Data: "b"}, LogOutput{Unknown: true}, 1, never),
			op(2, LogInput{Op: LogAppend, Data: "c"}, LogOutput{Offset: 2}, 2, 30),
			op(3, LogInput{Op: LogRead, From: 1, Max: 5}, LogOutput{Entries: []string{"b", "c"}}, 40, 50),
		},
		log:    []chain.Entry{{Offset: 1, Data: []byte("b")}, {Offset: 2, Data: []byte("c")}},
		before: true, after: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			model := tc.w.Model()
			if got := porcupine.CheckOperations(model, tc.ops); got != tc.before {
				t.Errorf("unsettled history linearizable = %v, want %v", got, tc.before)
			}
			settled := settle(tc.w, tc.ops, tc.log)
			if got := porcupine.CheckOperations(model, settled); got != tc.after {
				t.Errorf("settled history linearizable = %v, want %v", got, tc.after)
			}
			for _, op := range settled {
				if out, ok := op.Output.(LogOutput); ok && out.Unknown {
					t.Errorf("an unknown append is left after settling: %+v", op)
				}
				if out, ok := op.Output.(KVOutput); ok && out.Unknown {
					t.Errorf("an unknown write is left after settling: %+v", op)
				}
			}
		})
	}
}

// A log that does not start at offset 1 (a compacted prefix) settles
// nothing: what the prefix held is unknown.
func TestSettleLeavesACompactedLogAlone(t *testing.T) {
	ops := []porcupine.Operation{{Input: LogInput{Op: LogAppend, Data: "a"}, Output: LogOutput{Unknown: true}, Return: math.MaxInt64}}
	got := settle(LogWorkload{}, ops, []chain.Entry{{Offset: 5, Data: []byte("b")}})
	if len(got) != 1 || !got[0].Output.(LogOutput).Unknown {
		t.Fatalf("settle changed the history of a compacted log: %+v", got)
	}
}

func TestStaleLogReads(t *testing.T) {
	op := func(in LogInput, out LogOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
	}
	log := []chain.Entry{{Offset: 1, Data: []byte("a")}, {Offset: 2, Data: []byte("b")}}
	ops := []porcupine.Operation{
		op(LogInput{Op: LogAppend, Data: "a"}, LogOutput{Offset: 1}, 0, 10),
		op(LogInput{Op: LogAppend, Data: "b"}, LogOutput{Offset: 2}, 5, 30),
		op(LogInput{Op: LogRead, From: 2, Max: 1}, LogOutput{}, 20, 25),                            // b not yet acknowledged: fine
		op(LogInput{Op: LogRead, From: 1, Max: 2}, LogOutput{Entries: []string{"a", "b"}}, 31, 40), // fine
		op(LogInput{Op: LogRead, From: 2, Max: 1}, LogOutput{}, 35, 45),                            // stale
		op(LogInput{Op: LogRead, From: 1, Max: 1}, LogOutput{Entries: []string{"x"}}, 50, 60),      // not the log's
	}
	got := staleLogReads(ops, log, 10)
	if len(got) != 2 || !strings.Contains(got[0], "returned nothing") || !strings.Contains(got[1], `"x"`) {
		t.Fatalf("staleLogReads = %q, want the stale read from 2 and the read of x", got)
	}
	if porcupine.CheckOperations(LogModel(), ops) {
		t.Fatal("the model accepts the history the precheck refutes")
	}
	if got := staleLogReads(ops[:4], log, 10); len(got) != 0 {
		t.Fatalf("staleLogReads of a linearizable history = %q", got)
	}
}
