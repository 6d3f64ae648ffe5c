package chaintest

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// genLogHistory returns a small random log history: operations with random
// intervals whose outputs come from a sequential execution at random points
// within them (so it is linearizable), including unknown appends that took
// effect at any later time or never, then with even odds one output
// perturbed (which usually makes it not linearizable).
func genLogHistory(rng *rand.Rand) []porcupine.Operation {
	type ev struct {
		i      int
		effect int64
	}
	n := 4 + rng.Intn(7)
	ops := make([]porcupine.Operation, n)
	var evs []ev
	for i := range ops {
		call := int64(rng.Intn(100))
		ret := call + 1 + int64(rng.Intn(30))
		effect := call + rng.Int63n(ret-call+1)
		ops[i] = porcupine.Operation{ClientId: i, Call: call, Return: ret}
		if rng.Intn(2) == 0 {
			data := fmt.Sprintf("d%d", i)
			if rng.Intn(8) == 0 {
				data = "dup"
			}
			ops[i].Input = LogInput{Op: LogAppend, Data: data}
			if rng.Intn(3) == 0 { // unknown
				ops[i].Return = math.MaxInt64
				ops[i].Output = LogOutput{Unknown: true}
				if rng.Intn(2) == 0 {
					continue // never applied
				}
				effect = call + int64(rng.Intn(150))
			}
		} else {
			ops[i].Input = LogInput{Op: LogRead, From: uint64(1 + rng.Intn(4)), Max: 1 + rng.Intn(3)}
		}
		evs = append(evs, ev{i, effect})
	}
	sort.Slice(evs, func(a, b int) bool { return evs[a].effect < evs[b].effect })
	var log []string
	for _, e := range evs {
		in := ops[e.i].Input.(LogInput)
		if in.Op == LogAppend {
			log = append(log, in.Data)
			if ops[e.i].Output == nil {
				ops[e.i].Output = LogOutput{Offset: uint64(len(log))}
			}
			continue
		}
		var got []string
		if in.From <= uint64(len(log)) {
			end := min(int(in.From)-1+in.Max, len(log))
			k := 1 + rng.Intn(end-int(in.From)+1)
			got = append(got, log[in.From-1:int(in.From)-1+k]...)
		}
		ops[e.i].Output = LogOutput{Entries: got}
	}
	if rng.Intn(2) == 0 { // perturb
		i := rng.Intn(n)
		in := ops[i].Input.(LogInput)
		out := ops[i].Output.(LogOutput)
		switch {
		case out.Unknown:
		case in.Op == LogAppend:
			if rng.Intn(2) == 0 || out.Offset == 1 {
				out.Offset++
			} else {
				out.Offset--
			}
		default:
			switch {
			case len(out.Entries) == 0:
				out.Entries = []string{fmt.Sprintf("d%d", rng.Intn(n))}
			case rng.Intn(2) == 0:
				out.Entries = nil
			default:
				e := append([]string(nil), out.Entries...)
				e[rng.Intn(len(e))] = fmt.Sprintf("d%d", rng.Intn(n))
				out.Entries = e
			}
		}
		ops[i].Output = out
	}
	return ops
}

// genKVHistory is genLogHistory for a single key of the KV model.
func genKVHistory(rng *rand.Rand) []porcupine.Operation {
	type ev struct {
		i      int
		effect int64
	}
	n := 4 + rng.Intn(7)
	ops := make([]porcupine.Operation, n)
	var evs []ev
	noCAS := rng.Intn(2) == 0
	val := func(i int) string {
		if rng.Intn(6) == 0 {
			return "dup"
		}
		return fmt.Sprintf("v%d", i)
	}
	for i := range ops {
		call := int64(rng.Intn(100))
		ret := call + 1 + int64(rng.Intn(30))
		effect := call + rng.Int63n(ret-call+1)
		ops[i] = porcupine.Operation{ClientId: i, Call: call, Return: ret}
		r := rng.Intn(10)
		switch {
		case r < 4:
			ops[i].Input = KVInput{Op: KVGet, Key: "k"}
		case r < 7 || (noCAS && r < 9):
			ops[i].Input = KVInput{Op: KVPut, Key: "k", Value: val(i)}
		case r < 8 || noCAS:
			ops[i].Input = KVInput{Op: KVDelete, Key: "k"}
		default:
			ops[i].Input = KVInput{Op: KVCompareAndSet, Key: "k", Value: val(i),
				Expected: fmt.Sprintf("v%d", rng.Intn(n)), ExpectedFound: rng.Intn(4) != 0}
		}
		if ops[i].Input.(KVInput).Op != KVGet && rng.Intn(3) == 0 {
			ops[i].Return = math.MaxInt64
			ops[i].Output = KVOutput{Unknown: true}
			if rng.Intn(2) == 0 {
				continue
			}
			effect = call + int64(rng.Intn(150))
		}
		evs = append(evs, ev{i, effect})
	}
	sort.Slice(evs, func(a, b int) bool { return evs[a].effect < evs[b].effect })
	var s kvState
	for _, e := range evs {
		in := ops[e.i].Input.(KVInput)
		var out KVOutput
		switch in.Op {
		case KVGet:
			out = KVOutput{Value: s.Value, Found: s.Found}
		case KVPut:
			s = kvState{Value: in.Value, Found: true}
		case KVDelete:
			s = kvState{}
		case KVCompareAndSet:
			if s.holds(in) {
				out.Swapped = true
				s = kvState{Value: in.Value, Found: true}
			}
		}
		if ops[e.i].Output == nil {
			ops[e.i].Output = out
		}
	}
	if rng.Intn(2) == 0 { // perturb
		i := rng.Intn(n)
		in := ops[i].Input.(KVInput)
		out := ops[i].Output.(KVOutput)
		switch {
		case out.Unknown:
		case in.Op == KVGet:
			if out.Found && rng.Intn(2) == 0 {
				out = KVOutput{}
			} else {
				out = KVOutput{Value: fmt.Sprintf("v%d", rng.Intn(n)), Found: true}
			}
		case in.Op == KVCompareAndSet:
			out.Swapped = !out.Swapped
		}
		ops[i].Output = out
	}
	return ops
}

// TestRewritesPreserveVerdict compares, on random small histories, the
// verdict of each model with the verdict of the same model without its
// Partition function, and so without the rewrites of unknown operations.
func TestRewritesPreserveVerdict(t *testing.T) {
	rawLog := LogModel()
	rawLog.Partition = nil
	rawKV := KVModel() // single-key histories: one partition
	rawKV.Partition = nil
	for _, c := range []struct {
		name      string
		raw, fast porcupine.Model
		gen       func(*rand.Rand) []porcupine.Operation
	}{
		{"log", rawLog, LogModel(), genLogHistory},
		{"kv", rawKV, KVModel(), genKVHistory},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(1))
			var legal, illegal int
			for i := range 3000 {
				h := c.gen(rng)
				want := porcupine.CheckOperations(c.raw, h)
				if got := porcupine.CheckOperations(c.fast, h); got != want {
					for _, o := range h {
						t.Logf("client %d [%d, %d] %s", o.ClientId, o.Call, o.Return, c.raw.DescribeOperation(o.Input, o.Output))
					}
					t.Fatalf("history %d: linearizable=%v without rewrites, %v with them", i, want, got)
				}
				if want {
					legal++
				} else {
					illegal++
				}
			}
			require.Greater(t, legal, 500)
			require.Greater(t, illegal, 500)
		})
	}
}

// TestManyUnknownWritesCheckQuickly checks that histories with many unknown
// writes with distinct payloads reach a verdict quickly, both when they are
// linearizable and when they are not.
func TestManyUnknownWritesCheckQuickly(t *testing.T) {
	const clients, perClient = 8, 60
	build := func(kv bool) []porcupine.Operation {
		var ops []porcupine.Operation
		var log []string
		var now int64
		for i := range perClient {
			for c := range clients {
				now += 10
				id := fmt.Sprintf("c%d-%d", c, i)
				switch {
				case i%4 == 1 && kv: // unknown put, applied half the time
					ops = append(ops, putUnknown(c, now, "k", id))
					if c%2 == 0 {
						log = append(log, id)
					}
				case i%4 == 1: // unknown append, applied half the time
					ops = append(ops, appendUnknown(c, now, id))
					if c%2 == 0 {
						log = append(log, id)
					}
				case i%4 == 3 && kv:
					ops = append(ops, getOp(c, now, now+25, "k", log[len(log)-1], true))
				case i%4 == 3:
					from := uint64(max(1, len(log)-1))
					ops = append(ops, readOp(c, now, now+25, from, 2, log[from-1:]...))
				case kv:
					log = append(log, id)
					ops = append(ops, putOp(c, now, now+25, "k", id))
				default:
					log = append(log, id)
					ops = append(ops, appendOp(c, now, now+25, id, uint64(len(log))))
				}
			}
		}
		return ops
	}
	for _, c := range []struct {
		name  string
		model porcupine.Model
		kv    bool
		bad   porcupine.Operation
	}{
		// At the very end, a read of an entry at the wrong offset (log), or
		// of a value overwritten long ago (kv).
		{"log", LogModel(), false, readOp(99, 1<<40, 1<<40+1, 2, 1, "c0-0")},
		{"kv", KVModel(), true, getOp(99, 1<<40, 1<<40+1, "k", "c0-0", true)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops := build(c.kv)
			require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(c.model, ops, 10*time.Second))
			ops = append(ops, c.bad)
			require.Equal(t, porcupine.Illegal, porcupine.CheckOperationsTimeout(c.model, ops, 10*time.Second))
		})
	}
}
