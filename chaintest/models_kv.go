package chaintest

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"

	"github.com/anishathalye/porcupine"
)

// KVOp is the kind of a key-value operation.
type KVOp uint8

// The key-value operations. The zero KVOp is invalid.
const (
	// KVGet reads the value of KVInput.Key.
	KVGet KVOp = iota + 1
	// KVPut sets KVInput.Key to KVInput.Value.
	KVPut
	// KVDelete removes KVInput.Key.
	KVDelete
	// KVCompareAndSet sets KVInput.Key to KVInput.Value if the key's current
	// presence and value match KVInput.ExpectedFound and KVInput.Expected.
	KVCompareAndSet
)

// String returns "get", "put", "delete", "cas" or "KVOp(n)".
func (o KVOp) String() string {
	switch o {
	case KVGet:
		return "get"
	case KVPut:
		return "put"
	case KVDelete:
		return "delete"
	case KVCompareAndSet:
		return "cas"
	}
	return "KVOp(" + strconv.Itoa(int(o)) + ")"
}

// KVInput is the input of an operation on the key-value model.
type KVInput struct {
	Op  KVOp
	Key string
	// Value is the value written (KVPut and KVCompareAndSet). A KVDelete
	// may carry a tag here that identifies it (the model ignores it).
	Value string
	// Expected is the value a KVCompareAndSet requires the key to hold; it
	// is ignored when ExpectedFound is false.
	Expected string
	// ExpectedFound is the presence a KVCompareAndSet requires: if true, the
	// CAS succeeds only if the key is present with value Expected; if false,
	// it succeeds only if the key is absent (create-if-absent).
	ExpectedFound bool
}

// KVOutput is the output of an operation on the key-value model.
type KVOutput struct {
	// Value and Found are the result of a KVGet: the key's value and whether
	// it was present (Value is ignored when Found is false).
	Value string
	Found bool
	// Swapped is the result of a KVCompareAndSet: whether it took effect.
	Swapped bool
	// Unknown marks an operation whose outcome is indeterminate (see
	// PendingOp.Unknown); the other fields are then ignored.
	Unknown bool
}

// KVModel returns a porcupine model of a linearizable key-value map, for
// histories of a key-value state machine built on the chain (commands through
// chain.Client.Do, reads through chain.Client.Query).
//
// The model is partitioned by key: keys are independent registers, so
// porcupine checks each key's sub-history separately, which keeps the check
// fast for large histories over many keys. Every key is initially absent.
//
// Step semantics for one key, whose state is its value and presence:
//
//   - KVGet is legal iff Output.Found equals the key's presence and, when
//     present, Output.Value equals its value. It changes nothing.
//   - KVPut sets the value and marks the key present; KVDelete marks it
//     absent. Both are always legal and their outputs are not checked.
//   - KVCompareAndSet's condition holds iff the key's presence equals
//     Input.ExpectedFound and, when present, its value equals
//     Input.Expected. The step is legal iff Output.Swapped equals the
//     condition; when the condition holds the key is set to Input.Value.
//   - With Output.Unknown, every operation is legal. An unknown put or
//     delete takes effect; an unknown CAS is modeled as applied when its
//     condition holds and as a no-op otherwise (the only effects it could
//     have had); an unknown get changes nothing (a failed read is better
//     left out with PendingOp.Discard). Because an unknown operation is
//     recorded as never returning (see PendingOp.Unknown), porcupine may
//     also place it after every other operation, which covers the case that
//     it never took effect.
//
// # Unknown writes and unique values
//
// Each unknown write is concurrent with every operation after its call,
// which can make the search slow, above all to prove that a history with
// many unknown writes to one key is not linearizable. The model's Partition
// function therefore rewrites unknown puts and CASes per key before the
// search, with rewrites that preserve the verdict exactly:
//
//   - An unknown put or CAS whose value no other put or CAS of the key
//     writes, and which was observed (a get returned it, or a CAS expecting
//     it swapped), must have taken effect before the earliest such
//     observation returned; its interval is cut there, and an observed CAS
//     must have swapped.
//   - An unknown put whose value no get returned, on a key that no CAS
//     touches, cannot have been observed by anything, so it is checked as
//     never having taken effect: a no-op at its call.
//
// Write distinct values (for example the client id and a sequence number) to
// get the benefit. The visualization of a failed check shows the rewritten
// operations. The rewrites apply to operation histories
// (porcupine.CheckOperations and the functions of this package), not to
// event histories.
func KVModel() porcupine.Model {
	return porcupine.Model{
		Partition:      partitionKV,
		PartitionEvent: partitionKVEvents,
		Init:           func() any { return kvState{} },
		Step: func(state, input, output any) (bool, any) {
			return kvStep(state.(kvState), kvInputOf(input), output)
		},
		Equal: func(a, b any) bool { return a.(kvState) == b.(kvState) },
		Hash: func(state any) uint64 {
			s := state.(kvState)
			h := fnv.New64a()
			if s.Found {
				h.Write([]byte{1})
				h.Write([]byte(s.Value))
			} else {
				h.Write([]byte{0})
			}
			return h.Sum64()
		},
		DescribeOperation: func(input, output any) string {
			return describeKVOp(kvInputOf(input), output)
		},
		DescribeState: func(state any) string {
			return state.(kvState).String()
		},
	}
}

// Outputs of unknown writes rewritten by resolveKVUnknowns.
type (
	// kvResolved: an unknown put or CAS whose written value was observed,
	// so it took effect (a CAS swapped).
	kvResolved struct{}
	// kvUnread: an unknown put that nothing observed, checked as a no-op.
	kvUnread struct{}
)

// kvState is the state of one key (one partition of the KV model).
type kvState struct {
	Value string // meaningful only when Found
	Found bool
}

// String describes the key's state for visualizations.
func (s kvState) String() string {
	if !s.Found {
		return "<absent>"
	}
	return quote(s.Value)
}

func kvStep(s kvState, in KVInput, output any) (bool, any) {
	set := kvState{Value: in.Value, Found: true}
	switch output.(type) {
	case kvUnread:
		return true, s
	case kvResolved:
		if in.Op == KVCompareAndSet && !s.holds(in) {
			return false, s
		}
		return true, set
	}
	out := kvOutputOf(output)
	switch in.Op {
	case KVGet:
		if out.Unknown {
			return true, s
		}
		ok := out.Found == s.Found && (!s.Found || out.Value == s.Value)
		return ok, s
	case KVPut:
		return true, set
	case KVDelete:
		return true, kvState{}
	case KVCompareAndSet:
		cond := s.holds(in)
		if !out.Unknown && out.Swapped != cond {
			return false, s
		}
		if cond {
			return true, set
		}
		return true, s
	}
	panic(fmt.Sprintf("chaintest: KVModel: unknown op %v", in.Op))
}

// holds reports whether the condition of the CAS in holds in s.
func (s kvState) holds(in KVInput) bool {
	return s.Found == in.ExpectedFound && (!s.Found || s.Value == in.Expected)
}

// partitionKV splits history by key, in key order, and rewrites each key's
// unknown writes with resolveKVUnknowns.
func partitionKV(history []porcupine.Operation) [][]porcupine.Operation {
	groups := groupByKey(history, func(op porcupine.Operation) string { return kvInputOf(op.Input).Key })
	for i, ops := range groups {
		groups[i] = resolveKVUnknowns(ops)
	}
	return groups
}

// resolveKVUnknowns rewrites the unknown writes of the history of one key as
// described in the KVModel documentation, in place.
func resolveKVUnknowns(ops []porcupine.Operation) []porcupine.Operation {
	writes := make(map[string]int) // value -> number of puts and CASes writing it
	seen := make(map[string]int64) // value -> earliest return of an op that observed it
	hasCAS := false
	observe := func(v string, ret int64) {
		if r, ok := seen[v]; !ok || ret < r {
			seen[v] = ret
		}
	}
	for _, op := range ops {
		in, out := kvInputOf(op.Input), kvOutputOf(op.Output)
		switch in.Op {
		case KVGet:
			if !out.Unknown && out.Found {
				observe(out.Value, op.Return)
			}
		case KVPut:
			writes[in.Value]++
		case KVCompareAndSet:
			writes[in.Value]++
			hasCAS = true
			if !out.Unknown && out.Swapped && in.ExpectedFound {
				observe(in.Expected, op.Return)
			}
		}
	}
	for i, op := range ops {
		in := kvInputOf(op.Input)
		if (in.Op != KVPut && in.Op != KVCompareAndSet) || !kvOutputOf(op.Output).Unknown {
			continue
		}
		ret, observed := seen[in.Value]
		switch {
		case observed && writes[in.Value] == 1 && ret >= op.Call:
			ops[i].Output = kvResolved{}
			ops[i].Return = min(op.Return, ret)
		case !observed && in.Op == KVPut && !hasCAS:
			ops[i].Output = kvUnread{}
			ops[i].Return = op.Call
		}
	}
	return ops
}

func partitionKVEvents(history []porcupine.Event) [][]porcupine.Event {
	keyOf := make(map[int]string) // event id -> key, from the call events
	for _, ev := range history {
		if ev.Kind == porcupine.CallEvent {
			keyOf[ev.Id] = kvInputOf(ev.Value).Key
		}
	}
	return groupByKey(history, func(ev porcupine.Event) string { return keyOf[ev.Id] })
}

// groupByKey splits items by their key: the groups in key order, each in
// the order of items.
func groupByKey[E any](items []E, key func(E) string) [][]E {
	byKey := make(map[string][]E)
	for _, it := range items {
		k := key(it)
		byKey[k] = append(byKey[k], it)
	}
	out := make([][]E, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[k])
	}
	return out
}

func describeKVOp(in KVInput, output any) string {
	key := quote(in.Key)
	var res string
	switch output.(type) {
	case kvResolved:
		res = "? (observed)"
	case kvUnread:
		res = "? (never observed)"
	default:
		out := kvOutputOf(output)
		switch {
		case out.Unknown:
			res = "?"
		case in.Op == KVGet:
			res = kvState{Value: out.Value, Found: out.Found}.String()
		case in.Op == KVCompareAndSet:
			res = "failed"
			if out.Swapped {
				res = "swapped"
			}
		}
	}
	if res != "" {
		res = " -> " + res
	}
	switch in.Op {
	case KVGet:
		return fmt.Sprintf("get(%s)%s", key, res)
	case KVPut:
		return fmt.Sprintf("put(%s, %s)%s", key, quote(in.Value), res)
	case KVDelete:
		return fmt.Sprintf("delete(%s)%s", key, res)
	case KVCompareAndSet:
		want := kvState{Value: in.Expected, Found: in.ExpectedFound}.String()
		return fmt.Sprintf("cas(%s, %s -> %s)%s", key, want, quote(in.Value), res)
	}
	return fmt.Sprintf("%v -> %v", in, output)
}

func kvInputOf(v any) KVInput   { return valueOf[KVInput](v, "KVModel", "input") }
func kvOutputOf(v any) KVOutput { return valueOf[KVOutput](v, "KVModel", "output") }

// ---------------------------------------------------------------------------
// Descriptions
