package chaintest

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// never is the Return of an operation whose outcome is unknown.
const never = math.MaxInt64

func op(client int, call, ret int64, in, out any) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out}
}

// Log operation builders.

func appendOp(client int, call, ret int64, data string, offset uint64) porcupine.Operation {
	return op(client, call, ret, LogInput{Op: LogAppend, Data: data}, LogOutput{Offset: offset})
}

func appendUnknown(client int, call int64, data string) porcupine.Operation {
	return op(client, call, never, LogInput{Op: LogAppend, Data: data}, LogOutput{Unknown: true})
}

func readOp(client int, call, ret int64, from uint64, maxEntries int, entries ...string) porcupine.Operation {
	return op(client, call, ret, LogInput{Op: LogRead, From: from, Max: maxEntries}, LogOutput{Entries: entries})
}

// KV operation builders.

func getOp(client int, call, ret int64, key, value string, found bool) porcupine.Operation {
	return op(client, call, ret, KVInput{Op: KVGet, Key: key}, KVOutput{Value: value, Found: found})
}

func putOp(client int, call, ret int64, key, value string) porcupine.Operation {
	return op(client, call, ret, KVInput{Op: KVPut, Key: key, Value: value}, KVOutput{})
}

func putUnknown(client int, call int64, key, value string) porcupine.Operation {
	return op(client, call, never, KVInput{Op: KVPut, Key: key, Value: value}, KVOutput{Unknown: true})
}

func deleteOp(client int, call, ret int64, key string) porcupine.Operation {
	return op(client, call, ret, KVInput{Op: KVDelete, Key: key}, KVOutput{})
}

func casOp(client int, call, ret int64, key string, expected string, expectedFound bool, value string, swapped bool) porcupine.Operation {
	return op(client, call, ret,
		KVInput{Op: KVCompareAndSet, Key: key, Expected: expected, ExpectedFound: expectedFound, Value: value},
		KVOutput{Swapped: swapped})
}

func casUnknown(client int, call int64, key string, expected string, expectedFound bool, value string) porcupine.Operation {
	return op(client, call, never,
		KVInput{Op: KVCompareAndSet, Key: key, Expected: expected, ExpectedFound: expectedFound, Value: value},
		KVOutput{Unknown: true})
}

type historyCase struct {
	name string
	ops  []porcupine.Operation
}

func checkCases(t *testing.T, model porcupine.Model, want bool, cases []historyCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, want, porcupine.CheckOperations(model, c.ops),
				"porcupine verdict for %q (want linearizable=%v)", c.name, want)
		})
	}
}

func TestLogModelLinearizable(t *testing.T) {
	checkCases(t, LogModel(), true, []historyCase{
		{"empty", nil},
		{"sequential", []porcupine.Operation{
			readOp(0, 0, 1, 1, 10),
			appendOp(0, 2, 3, "a", 1),
			appendOp(0, 4, 5, "b", 2),
			appendOp(0, 6, 7, "c", 3),
			readOp(0, 8, 9, 1, 10, "a", "b", "c"),
			readOp(0, 10, 11, 2, 1, "b"),
			readOp(0, 12, 13, 2, 2, "b", "c"),
			readOp(0, 14, 15, 3, 5, "c"),
			readOp(0, 16, 17, 4, 5),
		}},
		{"concurrent appends ordered against their call order", []porcupine.Operation{
			appendOp(0, 0, 10, "a", 2),
			appendOp(1, 1, 9, "b", 1),
			appendOp(2, 2, 8, "c", 3),
			readOp(0, 11, 12, 1, 10, "b", "a", "c"),
		}},
		{"read overlapping an append may or may not see it", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			appendOp(0, 2, 10, "b", 2),
			readOp(1, 3, 4, 1, 10, "a"),
			readOp(2, 3, 6, 1, 10, "a", "b"),
			readOp(1, 7, 8, 2, 10, "b"),
			readOp(1, 11, 12, 1, 10, "a", "b"),
		}},
		{"read capped to a non-empty prefix", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			appendOp(0, 2, 3, "b", 2),
			appendOp(0, 4, 5, "c", 3),
			readOp(1, 6, 7, 1, 10, "a"),
			readOp(1, 8, 9, 2, 10, "b", "c"),
			readOp(1, 10, 11, 1, 2, "a"),
		}},
		{"unknown append observed by a read", []porcupine.Operation{
			appendUnknown(0, 0, "x"),
			readOp(1, 5, 6, 1, 10, "x"),
			appendOp(1, 7, 8, "y", 2),
			readOp(1, 9, 10, 1, 10, "x", "y"),
		}},
		{"unknown append never observed", []porcupine.Operation{
			appendUnknown(0, 0, "x"),
			readOp(1, 5, 6, 1, 10),
			appendOp(1, 7, 8, "y", 1),
			readOp(1, 9, 10, 1, 10, "y"),
		}},
		{"unknown append whose offset a later append reveals", []porcupine.Operation{
			appendUnknown(0, 0, "x"),
			appendOp(1, 5, 6, "y", 2),
			readOp(1, 7, 8, 1, 1, "x"),
		}},
		{"unknown read accepted", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			op(1, 2, never, LogInput{Op: LogRead, From: 1, Max: 1}, LogOutput{Unknown: true}),
		}},
		{"pointer inputs and outputs", []porcupine.Operation{
			op(0, 0, 1, &LogInput{Op: LogAppend, Data: "a"}, &LogOutput{Offset: 1}),
			op(0, 2, 3, &LogInput{Op: LogRead, From: 1, Max: 1}, &LogOutput{Entries: []string{"a"}}),
		}},
	})
}

func TestLogModelNotLinearizable(t *testing.T) {
	checkCases(t, LogModel(), false, []historyCase{
		{"read misses an append that returned before it started", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			readOp(1, 2, 3, 1, 10),
		}},
		{"two appends with the same offset", []porcupine.Operation{
			appendOp(0, 0, 5, "a", 1),
			appendOp(1, 1, 6, "b", 1),
		}},
		{"append skips an offset", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 2),
		}},
		{"appends ordered against real time", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 2),
			appendOp(1, 2, 3, "b", 1),
		}},
		{"read returns an entry no one appended", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			readOp(1, 2, 3, 1, 10, "z"),
		}},
		{"read returns entries out of order", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			appendOp(0, 2, 3, "b", 2),
			readOp(1, 4, 5, 1, 10, "b", "a"),
		}},
		{"read returns more than max", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			appendOp(0, 2, 3, "b", 2),
			readOp(1, 4, 5, 1, 1, "a", "b"),
		}},
		{"read returns a suffix instead of a prefix", []porcupine.Operation{
			appendOp(0, 0, 1, "a", 1),
			appendOp(0, 2, 3, "b", 2),
			readOp(1, 4, 5, 1, 10, "b"),
		}},
		{"empty read after another read observed the entry", []porcupine.Operation{
			appendOp(0, 0, 10, "a", 1),
			readOp(1, 1, 2, 1, 10, "a"),
			readOp(2, 3, 4, 1, 10),
		}},
		{"unknown append observed before it was called", []porcupine.Operation{
			readOp(1, 0, 1, 1, 10, "x"),
			appendUnknown(0, 2, "x"),
		}},
	})
}

func TestKVModelLinearizable(t *testing.T) {
	checkCases(t, KVModel(), true, []historyCase{
		{"sequential", []porcupine.Operation{
			getOp(0, 0, 1, "k", "", false),
			putOp(0, 2, 3, "k", "v1"),
			getOp(0, 4, 5, "k", "v1", true),
			putOp(0, 6, 7, "k", "v2"),
			getOp(0, 8, 9, "k", "v2", true),
			deleteOp(0, 10, 11, "k"),
			getOp(0, 12, 13, "k", "", false),
		}},
		{"empty value is present", []porcupine.Operation{
			putOp(0, 0, 1, "k", ""),
			getOp(0, 2, 3, "k", "", true),
		}},
		{"keys are independent", []porcupine.Operation{
			putOp(0, 0, 1, "a", "1"),
			putOp(1, 0, 1, "b", "2"),
			getOp(0, 2, 3, "b", "2", true),
			getOp(1, 2, 3, "a", "1", true),
			getOp(2, 2, 3, "c", "", false),
		}},
		{"concurrent puts, gets see one order", []porcupine.Operation{
			putOp(0, 0, 10, "k", "a"),
			putOp(1, 0, 10, "k", "b"),
			getOp(2, 1, 2, "k", "b", true),
			getOp(2, 3, 4, "k", "a", true),
			getOp(2, 11, 12, "k", "a", true),
		}},
		{"unknown put never observed", []porcupine.Operation{
			putOp(0, 0, 1, "k", "old"),
			putUnknown(1, 2, "k", "new"),
			getOp(0, 5, 6, "k", "old", true),
			getOp(0, 7, 8, "k", "old", true),
		}},
		{"unknown put observed", []porcupine.Operation{
			putOp(0, 0, 1, "k", "old"),
			putUnknown(1, 2, "k", "new"),
			getOp(0, 5, 6, "k", "old", true),
			getOp(0, 7, 8, "k", "new", true),
		}},
		{"unknown delete observed", []porcupine.Operation{
			putOp(0, 0, 1, "k", "v"),
			op(1, 2, never, KVInput{Op: KVDelete, Key: "k"}, KVOutput{Unknown: true}),
			getOp(0, 5, 6, "k", "", false),
		}},
		{"cas success and failure", []porcupine.Operation{
			casOp(0, 0, 1, "k", "", true, "x", false), // absent, expected present
			casOp(0, 2, 3, "k", "", false, "a", true), // create if absent
			casOp(0, 4, 5, "k", "", false, "z", false),
			casOp(0, 6, 7, "k", "a", true, "b", true),
			casOp(0, 8, 9, "k", "a", true, "c", false),
			getOp(0, 10, 11, "k", "b", true),
			deleteOp(0, 12, 13, "k"),
			casOp(0, 14, 15, "k", "b", true, "d", false),
			getOp(0, 16, 17, "k", "", false),
		}},
		{"concurrent cas, one wins", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casOp(1, 2, 10, "k", "a", true, "b", false),
			casOp(2, 2, 10, "k", "a", true, "c", true),
			getOp(0, 11, 12, "k", "c", true),
		}},
		{"unknown cas applied when its condition held", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casUnknown(1, 2, "k", "a", true, "b"),
			getOp(0, 5, 6, "k", "b", true),
		}},
		{"unknown cas not applied", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casUnknown(1, 2, "k", "a", true, "b"),
			getOp(0, 5, 6, "k", "a", true),
		}},
		{"unknown get accepted", []porcupine.Operation{
			op(0, 0, never, KVInput{Op: KVGet, Key: "k"}, KVOutput{Unknown: true}),
		}},
	})
}

func TestKVModelNotLinearizable(t *testing.T) {
	checkCases(t, KVModel(), false, []historyCase{
		{"stale get after a completed put", []porcupine.Operation{
			putOp(0, 0, 1, "k", "v1"),
			putOp(0, 2, 3, "k", "v2"),
			getOp(1, 4, 5, "k", "v1", true),
		}},
		{"get misses a completed put", []porcupine.Operation{
			putOp(0, 0, 1, "k", "v"),
			getOp(1, 2, 3, "k", "", false),
		}},
		{"get sees a completed delete undone", []porcupine.Operation{
			putOp(0, 0, 1, "k", "v"),
			deleteOp(0, 2, 3, "k"),
			getOp(1, 4, 5, "k", "v", true),
		}},
		{"value no one wrote", []porcupine.Operation{
			putOp(0, 0, 1, "k", "v"),
			getOp(1, 2, 3, "k", "ghost", true),
		}},
		{"value written to another key", []porcupine.Operation{
			putOp(0, 0, 1, "a", "v"),
			getOp(1, 2, 3, "b", "v", true),
		}},
		{"gets disagree on the order of concurrent puts", []porcupine.Operation{
			putOp(0, 0, 10, "k", "a"),
			putOp(1, 0, 10, "k", "b"),
			getOp(2, 11, 12, "k", "a", true),
			getOp(3, 13, 14, "k", "b", true),
		}},
		{"cas reports swapped though its condition did not hold", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casOp(1, 2, 3, "k", "b", true, "c", true),
		}},
		{"cas create-if-absent reports swapped on a present key", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casOp(1, 2, 3, "k", "", false, "c", true),
		}},
		{"cas reports failure though its condition held", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casOp(1, 2, 3, "k", "a", true, "c", false),
		}},
		{"two concurrent cas with the same expectation both succeed", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casOp(1, 2, 10, "k", "a", true, "b", true),
			casOp(2, 2, 10, "k", "a", true, "c", true),
		}},
		{"unknown cas whose condition never held takes effect", []porcupine.Operation{
			putOp(0, 0, 1, "k", "a"),
			casUnknown(1, 2, "k", "z", true, "c"),
			getOp(0, 5, 6, "k", "c", true),
		}},
		{"unknown put observed, then unobserved", []porcupine.Operation{
			putOp(0, 0, 1, "k", "old"),
			putUnknown(1, 2, "k", "new"),
			getOp(0, 5, 6, "k", "new", true),
			getOp(0, 7, 8, "k", "old", true),
		}},
	})
}

func TestLogStateEqualAndHash(t *testing.T) {
	m := LogModel()
	build := func(data ...string) any {
		s := m.Init()
		for i, d := range data {
			ok, next := m.Step(s, LogInput{Op: LogAppend, Data: d}, LogOutput{Offset: uint64(i + 1)})
			require.True(t, ok)
			s = next
		}
		return s
	}
	empty := m.Init()
	ab1, ab2 := build("a", "b"), build("a", "b")
	require.True(t, m.Equal(ab1, ab2))
	require.Equal(t, m.Hash(ab1), m.Hash(ab2))
	require.True(t, m.Equal(empty, build()))
	require.Equal(t, m.Hash(empty), m.Hash(build()))

	for _, other := range []any{build("a"), build("b", "a"), build("a", "c"), build("ab"), build("a", "b", ""), empty} {
		require.False(t, m.Equal(ab1, other), m.DescribeState(other))
		require.NotEqual(t, m.Hash(ab1), m.Hash(other), m.DescribeState(other))
	}
	require.NotEqual(t, m.Hash(build("ab", "")), m.Hash(build("a", "b")))

	// Steps do not modify their input state: both branches from the same
	// prefix keep their own contents.
	base := build("a")
	_, left := m.Step(base, LogInput{Op: LogAppend, Data: "l"}, LogOutput{Offset: 2})
	_, right := m.Step(base, LogInput{Op: LogAppend, Data: "r"}, LogOutput{Offset: 2})
	require.True(t, m.Equal(base, build("a")))
	require.True(t, m.Equal(left, build("a", "l")))
	require.True(t, m.Equal(right, build("a", "r")))
	ok, _ := m.Step(left, LogInput{Op: LogRead, From: 1, Max: 5}, LogOutput{Entries: []string{"a", "l"}})
	require.True(t, ok)
	ok, _ = m.Step(right, LogInput{Op: LogRead, From: 2, Max: 5}, LogOutput{Entries: []string{"r"}})
	require.True(t, ok)
}

func TestLogModelRejectsMalformedReads(t *testing.T) {
	m := LogModel()
	require.Panics(t, func() { m.Step(m.Init(), LogInput{Op: LogRead, From: 0, Max: 1}, LogOutput{}) })
	require.Panics(t, func() { m.Step(m.Init(), LogInput{Op: LogRead, From: 1, Max: 0}, LogOutput{}) })
	require.Panics(t, func() { m.Step(m.Init(), LogInput{}, LogOutput{}) })
	require.Panics(t, func() { m.Step(m.Init(), KVInput{Op: KVGet}, LogOutput{}) })
}

func TestKVStateEqualAndHash(t *testing.T) {
	m := KVModel()
	states := []kvState{{}, {Found: true}, {Value: "a", Found: true}, {Value: "b", Found: true}}
	for i, a := range states {
		for j, b := range states {
			require.Equal(t, i == j, m.Equal(a, b))
			if i != j {
				require.NotEqual(t, m.Hash(a), m.Hash(b))
			}
		}
	}
	require.Equal(t, m.Init(), kvState{})
	require.Panics(t, func() { m.Step(m.Init(), KVInput{}, KVOutput{}) })
}

func TestDescriptions(t *testing.T) {
	lm := LogModel()
	require.Equal(t, `append("a") -> 3`, lm.DescribeOperation(LogInput{Op: LogAppend, Data: "a"}, LogOutput{Offset: 3}))
	require.Equal(t, `append("a") -> ?`, lm.DescribeOperation(LogInput{Op: LogAppend, Data: "a"}, LogOutput{Unknown: true}))
	require.Equal(t, `read(from=2, max=5) -> ["b" "c"]`,
		lm.DescribeOperation(LogInput{Op: LogRead, From: 2, Max: 5}, LogOutput{Entries: []string{"b", "c"}}))
	require.Equal(t, "[]", lm.DescribeState(lm.Init()))
	s := lm.Init()
	for i := range 10 {
		_, s = lm.Step(s, LogInput{Op: LogAppend, Data: fmt.Sprint(i)}, LogOutput{Offset: uint64(i + 1)})
	}
	require.Equal(t, `[…2 more 3:"2" 4:"3" 5:"4" 6:"5" 7:"6" 8:"7" 9:"8" 10:"9"]`, lm.DescribeState(s))
	long := strings.Repeat("x", 100)
	require.Less(t, len(lm.DescribeOperation(LogInput{Op: LogAppend, Data: long}, LogOutput{Offset: 1})), 50)
	many := make([]string, 20)
	require.Contains(t, lm.DescribeOperation(LogInput{Op: LogRead, From: 1, Max: 20}, LogOutput{Entries: many}), "…12 more")

	km := KVModel()
	require.Equal(t, `get("k") -> "v"`, km.DescribeOperation(KVInput{Op: KVGet, Key: "k"}, KVOutput{Value: "v", Found: true}))
	require.Equal(t, `get("k") -> <absent>`, km.DescribeOperation(KVInput{Op: KVGet, Key: "k"}, KVOutput{}))
	require.Equal(t, `put("k", "v")`, km.DescribeOperation(KVInput{Op: KVPut, Key: "k", Value: "v"}, KVOutput{}))
	require.Equal(t, `put("k", "v") -> ?`, km.DescribeOperation(KVInput{Op: KVPut, Key: "k", Value: "v"}, KVOutput{Unknown: true}))
	require.Equal(t, `delete("k")`, km.DescribeOperation(KVInput{Op: KVDelete, Key: "k"}, KVOutput{}))
	require.Equal(t, `cas("k", "a" -> "b") -> swapped`,
		km.DescribeOperation(KVInput{Op: KVCompareAndSet, Key: "k", Expected: "a", ExpectedFound: true, Value: "b"}, KVOutput{Swapped: true}))
	require.Equal(t, `cas("k", <absent> -> "b") -> failed`,
		km.DescribeOperation(KVInput{Op: KVCompareAndSet, Key: "k", Value: "b"}, KVOutput{}))
	require.Equal(t, "<absent>", km.DescribeState(km.Init()))
	require.Equal(t, `"v"`, km.DescribeState(kvState{Value: "v", Found: true}))
	require.Equal(t, "append", LogAppend.String())
	require.Equal(t, "cas", KVCompareAndSet.String())
	require.Equal(t, "KVOp(0)", KVOp(0).String())
}

func TestKVPartitionEvents(t *testing.T) {
	ev := func(kind porcupine.EventKind, id int, v any) porcupine.Event {
		return porcupine.Event{Kind: kind, Id: id, Value: v}
	}
	ok := []porcupine.Event{
		ev(porcupine.CallEvent, 0, KVInput{Op: KVPut, Key: "a", Value: "1"}),
		ev(porcupine.CallEvent, 1, KVInput{Op: KVPut, Key: "b", Value: "2"}),
		ev(porcupine.ReturnEvent, 0, KVOutput{}),
		ev(porcupine.ReturnEvent, 1, KVOutput{}),
		ev(porcupine.CallEvent, 2, KVInput{Op: KVGet, Key: "a"}),
		ev(porcupine.ReturnEvent, 2, KVOutput{Value: "1", Found: true}),
	}
	require.True(t, porcupine.CheckEvents(KVModel(), ok))
	bad := append([]porcupine.Event(nil), ok...)
	bad[5] = ev(porcupine.ReturnEvent, 2, KVOutput{Value: "2", Found: true})
	require.False(t, porcupine.CheckEvents(KVModel(), bad))
}

func TestLinearizableWritesVisualization(t *testing.T) {
	ops := []porcupine.Operation{
		appendOp(0, 0, 1, "a", 1),
		readOp(1, 2, 3, 1, 10),
	}
	ok, path, err := Linearizable(LogModel(), ops, time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.NotEmpty(t, path)
	defer os.Remove(path)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Positive(t, info.Size())
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(html), "read(from=1, max=10)")

	ok, path, err = Linearizable(LogModel(), ops[:1], time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, path)

	// Unknown operations, rewritten or not, visualize too.
	ops = []porcupine.Operation{
		appendUnknown(0, 0, "dup"),
		appendUnknown(1, 0, "dup"),
		appendUnknown(2, 0, "seen"),
		appendUnknown(3, 0, "unread"),
		readOp(4, 5, 6, 1, 10, "dup", "seen", "nope"),
	}
	ok, path, err = Linearizable(LogModel(), ops, time.Minute)
	require.NoError(t, err)
	require.False(t, ok)
	require.NotEmpty(t, path)
	require.NoError(t, os.Remove(path))
}

func TestRewrittenDescriptions(t *testing.T) {
	lm := LogModel()
	h := lm.Partition([]porcupine.Operation{
		appendUnknown(0, 0, "seen"),
		appendUnknown(1, 0, "unread"),
		readOp(2, 5, 6, 1, 10, "seen"),
	})[0]
	require.Equal(t, `append("seen") -> ? (read at 1)`, lm.DescribeOperation(h[0].Input, h[0].Output))
	require.Equal(t, int64(6), h[0].Return)
	require.Equal(t, `append("unread") -> ? (never read)`, lm.DescribeOperation(h[1].Input, h[1].Output))
	require.Equal(t, int64(0), h[1].Return)
	_, s := lm.Step(lm.Init(), h[1].Input, h[1].Output)
	require.Equal(t, "[] +1 unread", lm.DescribeState(s))
	_, s = lm.Step(s, LogInput{Op: LogAppend, Data: "x"}, LogOutput{Offset: 2})
	require.Equal(t, `[1:? 2:"x"]`, lm.DescribeState(s))

	km := KVModel()
	parts := km.Partition([]porcupine.Operation{
		putUnknown(0, 0, "a", "seen"),
		putUnknown(1, 0, "a", "unread"),
		getOp(2, 5, 6, "a", "seen", true),
		casUnknown(0, 0, "b", "", false, "x"),
		getOp(2, 5, 6, "b", "x", true),
	})
	require.Len(t, parts, 2)
	a, b := parts[0], parts[1]
	require.Equal(t, `put("a", "seen") -> ? (observed)`, km.DescribeOperation(a[0].Input, a[0].Output))
	require.Equal(t, int64(6), a[0].Return)
	require.Equal(t, `put("a", "unread") -> ? (never observed)`, km.DescribeOperation(a[1].Input, a[1].Output))
	require.Equal(t, int64(0), a[1].Return)
	require.Equal(t, `cas("b", <absent> -> "x") -> ? (observed)`, km.DescribeOperation(b[0].Input, b[0].Output))
}

func TestLinearizableTimeout(t *testing.T) {
	blocking := porcupine.Model{
		Init: func() any { return 0 },
		StepContext: func(ctx context.Context, state, input, output any) (bool, any) {
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
			}
			return true, state
		},
	}
	ops := []porcupine.Operation{op(0, 0, 1, nil, nil)}
	ok, path, err := Linearizable(blocking, ops, 10*time.Millisecond)
	require.False(t, ok)
	require.Empty(t, path)
	require.ErrorIs(t, err, ErrCheckTimeout)
}

// fakeTB captures what CheckLinearizable reports.
type fakeTB struct {
	testing.TB
	logs, fatals []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
}

func TestCheckLinearizable(t *testing.T) {
	good := []porcupine.Operation{
		putOp(0, 0, 1, "k", "v"),
		getOp(1, 2, 3, "k", "v", true),
	}
	CheckLinearizable(t, KVModel(), good, 42)

	var pass fakeTB
	CheckLinearizable(&pass, KVModel(), good, 42)
	require.Empty(t, pass.fatals)
	require.Len(t, pass.logs, 1)
	require.Contains(t, pass.logs[0], "2 operations")

	bad := []porcupine.Operation{
		putOp(0, 0, 1, "k", "v"),
		getOp(1, 2, 3, "k", "w", true),
		getOp(1, 4, 5, "other", "", false),
	}
	var fail fakeTB
	CheckLinearizable(&fail, KVModel(), bad, 1234)
	require.Len(t, fail.fatals, 1)
	msg := fail.fatals[0]
	require.Contains(t, msg, "seed 1234")
	require.Contains(t, msg, "3 operations")
	m := regexp.MustCompile(`visualization: (\S+\.html)`).FindStringSubmatch(msg)
	require.NotNil(t, m, msg)
	_, err := os.Stat(m[1])
	require.NoError(t, err)
	require.NoError(t, os.Remove(m[1]))
}
