package faultsuite

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Entry is one entry of a member's log, as the checks compare it.
type Entry struct {
	Command string
	Data    []byte
}

// maxViolations bounds the violations a check lists.
const maxViolations = 20

// CheckLogs checks the members' logs after a run: logs maps each final
// member's id to its log (entry i at offset i+1), commit is the highest
// commit point the members reported, and r holds the writes. It returns
// one line per violation (at most maxViolations), none if:
//
//   - every member holds at least commit entries, and the members' logs
//     are identical over the offsets they all hold;
//   - every acknowledged raw append is at its acknowledged offset, and no
//     raw append's payload is in the log more than once;
//   - every acknowledged key-value write is in the log exactly once, and
//     no other more than once (each writes a unique value, the last field
//     of its command's payload).
func CheckLogs(logs map[string][]Entry, commit uint64, r Report) []string {
	var out []string
	add := func(format string, args ...any) {
		if len(out) < maxViolations {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	ids := slices.Sorted(maps.Keys(logs))
	if len(ids) == 0 {
		return []string{"no member's log to check"}
	}
	ref := logs[ids[0]]
	for _, id := range ids {
		l := logs[id]
		if uint64(len(l)) < commit {
			add("%s holds %d entries, short of the commit point %d", id, len(l), commit)
		}
		if len(l) > len(ref) {
			ref = l
		}
	}
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			if at, ok := diverge(logs[a], logs[b]); !ok {
				add("the logs of %s and %s differ at offset %d", a, b, at)
			}
		}
	}

	raw := map[string][]uint64{} // payload -> offsets of raw entries
	for i, e := range ref {
		if e.Command == "" {
			raw[string(e.Data)] = append(raw[string(e.Data)], uint64(i+1))
		}
	}
	for _, w := range r.Appends {
		offs := raw[w.Data]
		switch {
		case len(offs) > 1:
			add("raw append %q is in the log %d times (offsets %v)", w.Data, len(offs), offs)
		case w.Acked && (len(offs) == 0 || offs[0] != w.Offset):
			add("acknowledged raw append %q at offset %d: the log holds it at %v", w.Data, w.Offset, offs)
		}
	}
	for _, w := range r.KVWrites {
		n := 0
		for _, e := range ref {
			if e.Command != "" && bytes.HasSuffix(e.Data, []byte(w.Data)) {
				n++
			}
		}
		switch {
		case n > 1:
			add("key-value write of %q is in the log %d times", w.Data, n)
		case w.Acked && n == 0:
			add("acknowledged key-value write of %q is not in the log", w.Data)
		}
	}
	return out
}

// diverge compares a and b over the offsets both hold: it returns true if
// they agree, else false and the first offset where they differ.
func diverge(a, b []Entry) (uint64, bool) {
	for i := range min(len(a), len(b)) {
		if a[i].Command != b[i].Command || !bytes.Equal(a[i].Data, b[i].Data) {
			return uint64(i + 1), false
		}
	}
	return 0, true
}
