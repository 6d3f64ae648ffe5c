package faultsuite

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func raw(s string) Entry   { return Entry{Data: []byte(s)} }
func kvPut(v string) Entry { return Entry{Command: "kv.put", Data: []byte("\x02k1\x05" + v)} }

func TestCheckLogs(t *testing.T) {
	good := []Entry{raw("a0.1;"), kvPut("v0.1;"), raw("a0.2;")}
	report := Report{
		Appends:  []Write{{Data: "a0.1;", Offset: 1, Acked: true}, {Data: "a0.2;", Offset: 3, Acked: true}, {Data: "a0.3;"}},
		KVWrites: []Write{{Data: "v0.1;", Acked: true}, {Data: "v0.2;"}},
	}
	for _, tc := range []struct {
		name   string
		logs   map[string][]Entry
		commit uint64
		report Report
		want   []string // a substring of each violation, in order
	}{
		{"identical logs, every write once", map[string][]Entry{"n1": good, "n2": good, "n3": good[:2]}, 2, report, nil},
		{"a member short of the commit point", map[string][]Entry{"n1": good, "n2": good[:2]}, 3, report,
			[]string{"n2 holds 2 entries, short of the commit point 3"}},
		{"logs that differ", map[string][]Entry{"n1": good, "n2": {raw("a0.1;"), raw("x"), raw("a0.2;")}}, 3, report,
			[]string{"the logs of n1 and n2 differ at offset 2"}},
		{"an acknowledged append lost", map[string][]Entry{"n1": good[:2]}, 2, report,
			[]string{`acknowledged raw append "a0.2;" at offset 3: the log holds it at []`}},
		{"an acknowledged append elsewhere", map[string][]Entry{"n1": {raw("a0.1;"), raw("a0.2;"), kvPut("v0.1;")}}, 3, report,
			[]string{`acknowledged raw append "a0.2;" at offset 3: the log holds it at [2]`}},
		{"an append applied twice", map[string][]Entry{"n1": append(good[:3:3], raw("a0.3;"), raw("a0.3;"))}, 5, report,
			[]string{`raw append "a0.3;" is in the log 2 times`}},
		{"a key-value write lost", map[string][]Entry{"n1": {raw("a0.1;"), raw("x"), raw("a0.2;")}}, 3, report,
			[]string{`acknowledged key-value write of "v0.1;" is not in the log`}},
		{"a key-value write applied twice", map[string][]Entry{"n1": append(good[:3:3], kvPut("v0.2;"), kvPut("v0.2;"))}, 5, report,
			[]string{`key-value write of "v0.2;" is in the log 2 times`}},
		{"no member", map[string][]Entry{}, 0, report, []string{"no member's log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckLogs(tc.logs, tc.commit, tc.report)
			require.Len(t, got, len(tc.want), "violations: %q", got)
			for i, w := range tc.want {
				require.True(t, strings.Contains(got[i], w), "violation %d: %q, want %q", i, got[i], w)
			}
		})
	}
}
