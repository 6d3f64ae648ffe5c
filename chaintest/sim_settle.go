package chaintest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

// A Settler is a Workload whose every write can be found in the chain's
// log. After a schedule, the simulation settles the writes whose calls
// failed (recorded with PendingOp.Unknown) with the final log, which every
// member holds identically (that is checked apart):
//
//   - a write whose entry the log does not hold never took effect: it is
//     left out of the history (a read that saw it then fails the check, as
//     it must: the chain lost an entry it had exposed);
//   - a write whose entry the log holds took effect once, in log order: it
//     is checked with the output Settle gives it, and as having taken
//     effect before any write later in the log was acknowledged (the chain
//     commits and applies in log order, and acknowledges a write once it
//     is applied).
//
// So the check no longer searches over the possible outcomes of failed
// writes, which is what makes a history of many of them slow to check, and
// a stale read after an unacknowledged write is found.
type Settler interface {
	Workload
	// WriteKey returns the key of the write an operation's input makes,
	// unique in the run, or "" for a read.
	WriteKey(input any) string
	// Settle returns what log, a chain's committed log from its first
	// entry, says of the writes it holds: by write key, the offset of its
	// entry and the output the write would have returned (its effect
	// computed by replaying log). Entries that no write of the workload
	// made are left out.
	Settle(log []chain.Entry) map[string]SettledWrite
}

// SettledWrite is a write found in the final log (see Settler).
type SettledWrite struct {
	Offset uint64
	Output any
}

// settle rewrites the failed writes of ops, a chain's recorded history, as
// Settler describes, given its final log; it returns ops unchanged if w
// is no Settler or the log does not start at offset 1 (what a compacted
// prefix held is unknown). A ClientSettler's writes that no write key
// names are placed as placeUnnamed says. It does not modify ops.
func settle(w Workload, ops []porcupine.Operation, log []chain.Entry) []porcupine.Operation {
	s, ok := w.(Settler)
	if !ok || (len(log) > 0 && log[0].Offset != 1) {
		return ops
	}
	// placed: by index in ops, the writes found in the log; gone: the
	// failed writes that never took effect.
	placed, gone := map[int]SettledWrite{}, map[int]bool{}
	settled := s.Settle(log)
	for i, op := range ops {
		key := s.WriteKey(op.Input)
		if key == "" {
			continue
		}
		if sw, ok := settled[key]; ok {
			placed[i] = sw
		} else if op.Return == math.MaxInt64 {
			gone[i] = true
		}
	}
	if cs, ok := w.(ClientSettler); ok {
		placeUnnamed(cs, ops, log, placed, gone)
	}
	// before[o] bounds when the entry at offset o took effect: the earliest
	// return of a write acknowledged at a later offset.
	before := make([]int64, len(log)+2)
	for i := range before {
		before[i] = math.MaxInt64
	}
	for i, sw := range placed {
		if ret := ops[i].Return; ret != math.MaxInt64 && sw.Offset < uint64(len(before)) {
			before[sw.Offset] = min(before[sw.Offset], ret)
		}
	}
	for o := len(before) - 2; o >= 0; o-- {
		before[o] = min(before[o], before[o+1])
	}
	out := make([]porcupine.Operation, 0, len(ops))
	for i, op := range ops {
		if op.Return != math.MaxInt64 {
			out = append(out, op)
			continue
		}
		if gone[i] {
			continue // it never took effect
		}
		sw, ok := placed[i]
		if !ok {
			out = append(out, op) // a read, or a write whose outcome stays unknown
			continue
		}
		op.Output = sw.Output
		op.Return = max(op.Call+1, before[min(sw.Offset+1, uint64(len(before)-1))])
		out = append(out, op)
	}
	return slices.Clip(out)
}

// WriteKey implements Settler: the payload of an append.
func (LogWorkload) WriteKey(input any) string {
	if in := logInputOf(input); in.Op == LogAppend {
		return in.Data
	}
	return ""
}

// Settle implements Settler: each raw entry's payload, at its offset.
func (LogWorkload) Settle(log []chain.Entry) map[string]SettledWrite {
	out := make(map[string]SettledWrite, len(log))
	for _, e := range log {
		if e.Command == "" {
			out[string(e.Data)] = SettledWrite{Offset: e.Offset, Output: LogOutput{Offset: e.Offset}}
		}
	}
	return out
}

// WriteKey implements Settler: the value tag every put, delete and
// compare-and-set carries.
func (KVWorkload) WriteKey(input any) string {
	if in := kvInputOf(input); in.Op != KVGet {
		return in.Value
	}
	return ""
}

// Settle implements Settler: it replays log through the workload's state
// machine, so a compare-and-set's entry says whether it swapped.
func (KVWorkload) Settle(log []chain.Entry) map[string]SettledWrite {
	out := make(map[string]SettledWrite, len(log))
	m := map[string]string{}
	for _, e := range log {
		f, err := kvFields(e.Data)
		if err != nil {
			continue
		}
		key, tag := string(f[0]), string(f[1])
		res := KVOutput{}
		switch e.Command {
		case kvPutCommand:
			m[key] = tag
		case kvDelCommand:
			delete(m, key)
		case kvCASCommand:
			cur, ok := m[key]
			if found := len(f[2]) == 1; ok == found && (!ok || cur == string(f[3])) {
				m[key], res.Swapped = tag, true
			}
		default:
			continue
		}
		out[tag] = SettledWrite{Offset: e.Offset, Output: res}
	}
	return out
}

// staleLogReads returns, for a settled history of LogWorkload (see
// settle) and its chain's final log, the reads that no linearization can
// explain, as found without a search: a read that returned an entry other
// than the log's at that offset, or that returned nothing from an offset
// at or below one whose append was acknowledged before the read began.
// The search of porcupine finds these too, but may take long to refute a
// history of many concurrent operations; this finds them at once, and
// says which reads they are. It returns at most limit findings.
func staleLogReads(ops []porcupine.Operation, log []chain.Entry, limit int) []string {
	if len(log) > 0 && log[0].Offset != 1 {
		return nil // a compacted prefix: offsets do not index log
	}
	type ack struct {
		ret int64
		off uint64
	}
	var acks []ack
	for _, op := range ops {
		in := logInputOf(op.Input)
		if out, ok := op.Output.(LogOutput); ok && in.Op == LogAppend && !out.Unknown && op.Return != math.MaxInt64 {
			acks = append(acks, ack{op.Return, out.Offset})
		}
	}
	slices.SortFunc(acks, func(a, b ack) int { return cmp.Compare(a.ret, b.ret) })
	for i := 1; i < len(acks); i++ {
		acks[i].off = max(acks[i].off, acks[i-1].off) // the highest acknowledged by then
	}
	var out []string
	for _, op := range ops {
		in := logInputOf(op.Input)
		res, ok := op.Output.(LogOutput)
		if in.Op != LogRead || !ok || res.Unknown {
			continue
		}
		for k, got := range res.Entries {
			off := in.From + uint64(k)
			if off > uint64(len(log)) || string(log[off-1].Data) != got {
				out = append(out, fmt.Sprintf("a read from %d (at %s) returned %q at offset %d, which the log does not hold there", in.From, fmtAt(time.Duration(op.Call)), got, off))
				break
			}
		}
		i, _ := slices.BinarySearchFunc(acks, op.Call, func(a ack, call int64) int { return cmp.Compare(a.ret, call) })
		if len(res.Entries) == 0 && i > 0 && acks[i-1].off >= in.From {
			out = append(out, fmt.Sprintf("a read from %d (at %s) returned nothing, though offset %d was acknowledged before it began", in.From, fmtAt(time.Duration(op.Call)), acks[i-1].off))
		}
		if len(out) >= limit {
			break
		}
	}
	return out
}
