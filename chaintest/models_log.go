package chaintest

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// This file holds porcupine models, sequential specifications against which
// recorded histories are checked. Both models follow porcupine's contract:
// Step never modifies its arguments and returns a new state, and Equal states
// have equal Hash values.
//
// Step panics on malformed operations (an input or output of the wrong type,
// an unknown Op, a read with From 0 or Max < 1): they are bugs in the test
// that recorded the history, not in the system under test, and reporting
// them as linearizability violations would be misleading.

// ---------------------------------------------------------------------------
// Log model

// LogOp is the kind of a log operation.
type LogOp uint8

// The log operations. The zero LogOp is invalid.
const (
	// LogAppend appends LogInput.Data at the end of the log (chain.Client.Append).
	LogAppend LogOp = iota + 1
	// LogRead reads up to LogInput.Max entries from offset LogInput.From
	// (chain.Client.Read).
	LogRead
)

// String returns "append", "read" or "LogOp(n)".
func (o LogOp) String() string {
	switch o {
	case LogAppend:
		return "append"
	case LogRead:
		return "read"
	}
	return "LogOp(" + strconv.Itoa(int(o)) + ")"
}

// LogInput is the input of an operation on the log model.
type LogInput struct {
	Op LogOp
	// Data is the appended entry's payload (LogAppend only).
	Data string
	// From is the 1-based offset of the first entry to read (LogRead only).
	// It must be at least 1.
	From uint64
	// Max is the maximum number of entries to read (LogRead only). It must
	// be at least 1. A read with From 0 or Max < 1 is rejected by
	// chain.Client.Read before it reaches the chain; do not record it.
	Max int
}

// LogOutput is the output of an operation on the log model.
type LogOutput struct {
	// Offset is the offset the append returned (LogAppend only).
	Offset uint64
	// Entries holds the payloads of the entries a read returned, in offset
	// order starting at LogInput.From (LogRead only).
	Entries []string
	// Unknown marks an operation whose outcome is indeterminate (see
	// PendingOp.Unknown); Offset and Entries are then ignored.
	Unknown bool
}

// LogModel returns a porcupine model of a replicated append-only log with
// dense offsets starting at 1, driven by raw appends and reads (the
// operations of chain.Client.Append and chain.Client.Read).
//
// The state is the sequence of payloads in the log, initially empty. The
// model assumes that every entry in the log was written by an append recorded
// in the history: entries written by unrecorded clients, or by commands
// (chain.Client.Do), which also occupy offsets, make the history fail.
//
// Step semantics, with n the length of the log before the step:
//
//   - LogAppend with a known outcome is legal iff Output.Offset == n+1; it
//     appends Input.Data.
//   - LogAppend with Output.Unknown is always legal and appends Input.Data.
//     Because an unknown operation is recorded as never returning (see
//     PendingOp.Unknown), porcupine may also place it after every other
//     operation, which covers the case that the append never took effect.
//   - LogRead with a known outcome leaves the log unchanged. Let want be the
//     payloads at offsets From .. min(From+Max-1, n). If From > n, the read
//     is legal iff it returned no entries. Otherwise it is legal iff it
//     returned a non-empty prefix of want: all of want, or fewer entries,
//     because the tail may cap a response by size, but never none, because
//     the tail always returns at least one committed entry when one exists
//     at From.
//   - LogRead with Output.Unknown is always legal and changes nothing (a
//     failed read is better left out with PendingOp.Discard).
//
// # Unknown appends and unique payloads
//
// An unknown append is concurrent with every operation after its call, and
// a plain search tries it at every one of those points: a history with more
// than a handful of unknown appends can take exponential time to check. The
// model therefore resolves unknown appends before the search, through its
// Partition function (which porcupine calls on every check of an operation
// history), with two rewrites that preserve the verdict exactly:
//
//   - An unknown append whose payload a read returned, and which no other
//     append in the history shares, must have taken effect at the offset
//     where the read saw it, before the read returned. It is checked as an
//     append with that offset whose interval ends at the earliest such
//     read's return.
//   - An unknown append whose payload no read returned has no visible effect
//     except occupying an offset that some later append skips. It is
//     checked as taking effect at its call as a deferred entry: a counter
//     of unread entries that later appends may place in gaps before their
//     offset (a read that reaches such a gap fails, since no read returned
//     the payload). This rewrite applies only when the first one resolved
//     every unknown append whose payload a read returned.
//
// Give every append a distinct payload (for example the client id and a
// sequence number): unknown appends then add little to the cost of the
// check, however many there are.
// The visualization of a failed check shows the rewritten operations. The
// rewrites apply to operation histories (porcupine.CheckOperations and the
// functions of this package), not to event histories.
//
// States are immutable and share structure (a persistent list), so the
// checker can keep many of them cheaply. A read costs time proportional to
// the distance from From to the end of the log, which is fine for histories
// of a few thousand operations.
func LogModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			return [][]porcupine.Operation{resolveLogUnknowns(history)}
		},
		Init: func() any { return logState{last: emptyLog} },
		Step: func(state, input, output any) (bool, any) {
			return logStep(state.(logState), logInputOf(input), output)
		},
		Equal: func(a, b any) bool {
			return a.(logState).equal(b.(logState))
		},
		Hash: func(state any) uint64 {
			s := state.(logState)
			return s.last.hash ^ (s.pending * 0x9e3779b97f4a7c15)
		},
		DescribeOperation: func(input, output any) string {
			return describeLogOp(logInputOf(input), output)
		},
		DescribeState: func(state any) string {
			return state.(logState).String()
		},
	}
}

// Outputs of unknown appends rewritten by resolveLogUnknowns.
type (
	// logResolved: an unknown append that a read saw at Offset.
	logResolved struct{ Offset uint64 }
	// logUnread: an unknown append whose payload no read returned.
	logUnread struct{}
)

// resolveLogUnknowns rewrites the unknown appends of history as described in
// the LogModel documentation and returns the rewritten copy. It does not
// modify history.
func resolveLogUnknowns(history []porcupine.Operation) []porcupine.Operation {
	appends := make(map[string]int) // payload -> number of appends writing it
	type sighting struct {
		ret    int64  // return time of the read
		offset uint64 // offset at which it saw the payload
	}
	seen := make(map[string]sighting) // payload -> earliest-returning read that saw it
	for _, op := range history {
		in := logInputOf(op.Input)
		switch in.Op {
		case LogAppend:
			appends[in.Data]++
		case LogRead:
			out := logOutputOf(op.Output)
			if out.Unknown {
				continue
			}
			for j, d := range out.Entries {
				if s, ok := seen[d]; !ok || op.Return < s.ret {
					seen[d] = sighting{ret: op.Return, offset: in.From + uint64(j)}
				}
			}
		}
	}

	res := make([]porcupine.Operation, len(history))
	copy(res, history)
	var unread []int // indexes of unknown appends no read saw
	allResolved := true
	for i, op := range history {
		in := logInputOf(op.Input)
		if in.Op != LogAppend || !logOutputOf(op.Output).Unknown {
			continue
		}
		s, ok := seen[in.Data]
		switch {
		case !ok:
			unread = append(unread, i)
		case appends[in.Data] == 1 && s.ret >= op.Call:
			res[i].Output = logResolved{Offset: s.offset}
			res[i].Return = min(op.Return, s.ret)
		default:
			allResolved = false
		}
	}
	if allResolved {
		for _, i := range unread {
			res[i].Output = logUnread{}
			res[i].Return = res[i].Call
		}
	}
	return res
}

// logState is an immutable log state: the entries in the log, and the number
// of unread unknown appends that have taken effect but not yet been given an
// offset (see LogModel).
type logState struct {
	last    *logNode // the last entry; emptyLog when the log is empty
	pending uint64   // unread appends that later appends may place in gaps
}

// logNode is one entry of a persistent singly linked list running from the
// last entry back to emptyLog, so states share their prefixes. emptyLog is
// the only node of length 0.
type logNode struct {
	prev   *logNode // the log without this entry; nil for emptyLog
	data   string   // the payload, unless unread
	unread bool     // an entry of an unread unknown append, payload unknown
	n      uint64   // offset of this entry = length of the log ending here
	hash   uint64   // FNV-1a over the tagged, length-prefixed payloads, in order
}

const fnvOffset64 = 14695981039346656037

var emptyLog = &logNode{hash: fnvOffset64}

// push returns the log l with one entry appended; l is unchanged.
func (l *logNode) push(data string, unread bool) *logNode {
	h := fnv.New64a()
	var buf [17]byte
	binary.LittleEndian.PutUint64(buf[0:], l.hash)
	if unread {
		buf[8] = 1
	} else {
		binary.LittleEndian.PutUint64(buf[9:], uint64(len(data)))
	}
	h.Write(buf[:])
	if !unread {
		h.Write([]byte(data))
	}
	return &logNode{prev: l, data: data, unread: unread, n: l.n + 1, hash: h.Sum64()}
}

// at returns the node of the entry at offset i (1 <= i <= l.n).
func (l *logNode) at(i uint64) *logNode {
	for l.n > i {
		l = l.prev
	}
	return l
}

// equal reports whether s and o hold the same entries and pending count.
func (s logState) equal(o logState) bool {
	a, b := s.last, o.last
	if s.pending != o.pending || a.n != b.n || a.hash != b.hash {
		return false
	}
	for a != b { // same length, so both reach a shared node or emptyLog together
		if a.unread != b.unread || a.data != b.data {
			return false
		}
		a, b = a.prev, b.prev
	}
	return true
}

// appendAt returns the state after an append that took offset off, placing
// pending unread appends in the gap before it; ok is false if no such state
// exists. s is unchanged.
func (s logState) appendAt(off uint64, data string) (bool, logState) {
	n := s.last.n
	if off <= n || off-n-1 > s.pending {
		return false, s
	}
	gap := off - n - 1
	last := s.last
	for range gap {
		last = last.push("", true)
	}
	return true, logState{last: last.push(data, false), pending: s.pending - gap}
}

// readMatches reports whether got is a legal result of reading up to
// maxEntries entries from offset from (see LogModel).
func (s logState) readMatches(from uint64, maxEntries int, got []string) bool {
	n := s.last.n
	if from > n {
		return len(got) == 0
	}
	avail := min(n-from+1, uint64(maxEntries))
	if len(got) == 0 || uint64(len(got)) > avail {
		return false
	}
	node := s.last.at(from + uint64(len(got)) - 1)
	for i := len(got) - 1; i >= 0; i-- {
		if node.unread || node.data != got[i] {
			return false
		}
		node = node.prev
	}
	return true
}

// String describes the state for visualizations: the last few entries with
// their offsets (? for an unread entry), and the number of pending unread
// appends.
func (s logState) String() string {
	const show = 8
	var parts []string
	for node := s.last; node.n > 0 && len(parts) < show; node = node.prev {
		d := "?"
		if !node.unread {
			d = quote(node.data)
		}
		parts = append(parts, strconv.FormatUint(node.n, 10)+":"+d)
	}
	slices.Reverse(parts)
	if n := s.last.n; n > show {
		parts = append([]string{fmt.Sprintf("…%d more", n-show)}, parts...)
	}
	str := "[" + strings.Join(parts, " ") + "]"
	if s.pending > 0 {
		str += fmt.Sprintf(" +%d unread", s.pending)
	}
	return str
}

func logStep(s logState, in LogInput, output any) (bool, any) {
	switch in.Op {
	case LogAppend:
		switch out := output.(type) {
		case logResolved:
			return s.appendAt(out.Offset, in.Data)
		case logUnread:
			return true, logState{last: s.last, pending: s.pending + 1}
		}
		out := logOutputOf(output)
		if out.Unknown {
			return true, logState{last: s.last.push(in.Data, false), pending: s.pending}
		}
		return s.appendAt(out.Offset, in.Data)
	case LogRead:
		if in.From < 1 || in.Max < 1 {
			panic(fmt.Sprintf("chaintest: LogModel: read with From %d and Max %d is invalid (need From >= 1 and Max >= 1); chain.Client.Read rejects it, so do not record it", in.From, in.Max))
		}
		out := logOutputOf(output)
		if out.Unknown {
			return true, s
		}
		return s.readMatches(in.From, in.Max, out.Entries), s
	}
	panic(fmt.Sprintf("chaintest: LogModel: unknown op %v", in.Op))
}

func describeLogOp(in LogInput, output any) string {
	switch in.Op {
	case LogAppend:
		var res string
		switch out := output.(type) {
		case logResolved:
			res = fmt.Sprintf("? (read at %d)", out.Offset)
		case logUnread:
			res = "? (never read)"
		default:
			if out := logOutputOf(output); out.Unknown {
				res = "?"
			} else {
				res = strconv.FormatUint(out.Offset, 10)
			}
		}
		return fmt.Sprintf("append(%s) -> %s", quote(in.Data), res)
	case LogRead:
		res := "?"
		if out := logOutputOf(output); !out.Unknown {
			res = quoteList(out.Entries)
		}
		return fmt.Sprintf("read(from=%d, max=%d) -> %s", in.From, in.Max, res)
	}
	return fmt.Sprintf("%v -> %v", in, output)
}

func logInputOf(v any) LogInput   { return valueOf[LogInput](v, "LogModel", "input") }
func logOutputOf(v any) LogOutput { return valueOf[LogOutput](v, "LogModel", "output") }

// valueOf returns v as a T, whether it holds a T or a *T: a history may
// record either. Anything else is a bug of the test that recorded the
// history, reported as one of model's inputs or outputs (what).
func valueOf[T any](v any, model, what string) T {
	switch x := v.(type) {
	case T:
		return x
	case *T:
		return *x
	}
	var want T
	panic(fmt.Sprintf("chaintest: %s: %s has type %T, want %T", model, what, v, want))
}
