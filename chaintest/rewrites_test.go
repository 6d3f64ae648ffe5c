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

// randomTimeline draws n operations with random intervals, for
// sequential execution at random points within them. input(i) gives
// operation i's input and whether it writes. A write is unknown with odds
// 1 in 3: it never returns (its output is unknown), and takes effect at a
// random later time or, with even odds, never. randomTimeline returns the
// operations and the indices of those that take effect, in the order they
// do.
func randomTimeline(rng *rand.Rand, n int, input func(i int) (in any, writes bool), unknown any) ([]porcupine.Operation, []int) {
	type ev struct {
		i      int
		effect int64
	}
	ops := make([]porcupine.Operation, n)
	var evs []ev
	for i := range ops {
		call := int64(rng.Intn(100))
		ret := call + 1 + int64(rng.Intn(30))
		effect := call + rng.Int63n(ret-call+1)
		in, writes := input(i)
		ops[i] = porcupine.Operation{ClientId: i, Call: call, Return: ret, Input: in}
		if writes && rng.Intn(3) == 0 {
			ops[i].Return = math.MaxInt64
			ops[i].Output = unknown
			if rng.Intn(2) == 0 {
				continue // never applied
			}
			effect = call + int64(rng.Intn(150))
		}
		evs = append(evs, ev{i, effect})
	}
	sort.Slice(evs, func(a, b int) bool { return evs[a].effect < evs[b].effect })
	order := make([]int, len(evs))
	for k, e := range evs {
		order[k] = e.i
	}
	return ops, order
}

// genLogHistory returns a small random log history: a random timeline of
// appends and reads (so it is linearizable), then with even odds one
// output perturbed (which usually makes it not linearizable).
func genLogHistory(rng *rand.Rand) []porcupine.Operation {
	n := 4 + rng.Intn(7)
	ops, order := randomTimeline(rng, n, func(i int) (any, bool) {
		if rng.Intn(2) == 0 {
			data := fmt.Sprintf("d%d", i)
			if rng.Intn(8) == 0 {
				data = "dup"
			}
			return LogInput{Op: LogAppend, Data: data}, true
		}
		return LogInput{Op: LogRead, From: uint64(1 + rng.Intn(4)), Max: 1 + rng.Intn(3)}, false
	}, LogOutput{Unknown: true})
	var log []string
	for _, i := range order {
		in := ops[i].Input.(LogInput)
		if in.Op == LogAppend {
			log = append(log, in.Data)
			if ops[i].Output == nil {
				ops[i].Output = LogOutput{Offset: uint64(len(log))}
			}
			continue
		}
		var got []string
		if in.From <= uint64(len(log)) {
			end := min(int(in.From)-1+in.Max, len(log))
			k := 1 + rng.Intn(end-int(in.From)+1)
			got = append(got, log[in.From-1:int(in.From)-1+k]...)
		}
		ops[i].Output = LogOutput{Entries: got}
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
	n := 4 + rng.Intn(7)
	noCAS := rng.Intn(2) == 0
	val := func(i int) string {
		if rng.Intn(6) == 0 {
			return "dup"
		}
		return fmt.Sprintf("v%d", i)
	}
	ops, order := randomTimeline(rng, n, func(i int) (any, bool) {
		r := rng.Intn(10)
		switch {
		case r < 4:
			return KVInput{Op: KVGet, Key: "k"}, false
		case r < 7 || (noCAS && r < 9):
			return KVInput{Op: KVPut, Key: "k", Value: val(i)}, true
		case r < 8 || noCAS:
			return KVInput{Op: KVDelete, Key: "k"}, true
		}
		return KVInput{Op: KVCompareAndSet, Key: "k", Value: val(i),
			Expected: fmt.Sprintf("v%d", rng.Intn(n)), ExpectedFound: rng.Intn(4) != 0}, true
	}, KVOutput{Unknown: true})
	var s kvState
	for _, i := range order {
		in := ops[i].Input.(KVInput)
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
		if ops[i].Output == nil {
			ops[i].Output = out
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
