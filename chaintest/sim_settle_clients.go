package chaintest

import (
	"cmp"
	"maps"
	"math"
	"reflect"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

// A ClientSettler is a Settler some of whose writes make entries that do
// not single them out: a key-value store's delete carries only its key,
// which every delete of that key shares. Such a write is unnamed (its
// WriteKey is ""), and settle finds it by the client that made it and its
// class (say, "delete k"): the entries of one class that one client's
// address made (Entry.Client), in the order of their Entry.Seq, which
// grows with each call of a chain.Client, are that client's writes of the
// class that took effect, in the order it called them. For each client
// and class:
//
//   - if the log holds as many entries as the client made writes, each
//     took effect, and if one sequential process (one recorder client id)
//     made them all, the k-th write made the k-th entry; if several
//     shared the client's address and the entries give one output, a
//     failed write took effect by the time the last of the entries did;
//   - if the log holds as many entries as the client's writes that were
//     acknowledged, the failed ones never took effect;
//   - otherwise their outcome stays unknown.
type ClientSettler interface {
	Settler
	// WriteClient returns, for the input of an unnamed write, the address
	// of the chain.Client that made it and its class; ok is false for a
	// read or a named write.
	WriteClient(input any) (client, class string, ok bool)
	// SettleUnnamed returns, by offset, the class of each entry of log
	// that an unnamed write of the workload made and the output that
	// write would have returned (computed by replaying log, as Settle
	// does).
	SettleUnnamed(log []chain.Entry) map[uint64]UnnamedWrite
}

// UnnamedWrite is an entry of an unnamed write (see ClientSettler).
type UnnamedWrite struct {
	Class  string
	Output any
}

// placeUnnamed adds to placed the unnamed writes of ops that log shows
// took effect, and to gone those that it shows never did, as
// ClientSettler describes. log starts at offset 1.
func placeUnnamed(s ClientSettler, ops []porcupine.Operation, log []chain.Entry, placed map[int]SettledWrite, gone map[int]bool) {
	type group struct {
		ops     []int // indexes in ops, in call order
		entries []chain.Entry
		outputs []any
	}
	groups := map[[2]string]*group{}
	groupOf := func(client, class string) *group {
		k := [2]string{client, class}
		if groups[k] == nil {
			groups[k] = &group{}
		}
		return groups[k]
	}
	unnamed := s.SettleUnnamed(log)
	for _, off := range slices.Sorted(maps.Keys(unnamed)) {
		if off == 0 || off > uint64(len(log)) {
			continue
		}
		e := log[off-1]
		g := groupOf(e.Client, unnamed[off].Class)
		g.entries = append(g.entries, e)
		g.outputs = append(g.outputs, unnamed[off].Output)
	}
	for i, op := range ops {
		if client, class, ok := s.WriteClient(op.Input); ok {
			g := groupOf(client, class)
			g.ops = append(g.ops, i)
		}
	}
	for _, g := range groups {
		slices.SortStableFunc(g.ops, func(a, b int) int { return cmp.Compare(ops[a].Call, ops[b].Call) })
		order := make([]int, len(g.entries))
		for k := range order {
			order[k] = k
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(g.entries[a].Seq, g.entries[b].Seq) })
		var acked, failed []int
		sequential := true
		for _, i := range g.ops {
			if ops[i].Return == math.MaxInt64 {
				failed = append(failed, i)
			} else {
				acked = append(acked, i)
			}
			sequential = sequential && ops[i].ClientId == ops[g.ops[0]].ClientId
		}
		switch n := len(g.entries); {
		case n == len(g.ops) && sequential:
			for k, i := range g.ops {
				e := order[k]
				placed[i] = SettledWrite{Offset: g.entries[e].Offset, Output: g.outputs[e]}
			}
		case n == len(g.ops) && sameOutputs(g.outputs):
			// Which entry a failed write made is not known: it took
			// effect by the time the last of them did.
			var last uint64
			for _, e := range g.entries {
				last = max(last, e.Offset)
			}
			for _, i := range failed {
				placed[i] = SettledWrite{Offset: last, Output: g.outputs[0]}
			}
		case n == len(acked):
			for _, i := range failed {
				gone[i] = true
			}
		}
	}
}

// sameOutputs reports whether every output of outs is the same.
func sameOutputs(outs []any) bool {
	for _, o := range outs {
		if !reflect.DeepEqual(o, outs[0]) {
			return false
		}
	}
	return true
}

// SettleHistory returns ops, a chain's recorded history, with the writes
// whose calls failed settled by the chain's final log as Settler and
// ClientSettler describe; ops unchanged if w is no Settler or log does
// not start at offset 1. The simulation settles every history so before
// its check; this is for tests of a workload's Settler. It does not
// modify ops.
func SettleHistory(w Workload, ops []porcupine.Operation, log []chain.Entry) []porcupine.Operation {
	return settle(w, ops, log)
}
