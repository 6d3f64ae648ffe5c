package replica

import "testing"

func TestFlow(t *testing.T) {
	type entry struct {
		off  uint64
		size int
	}
	for _, tc := range []struct {
		name    string
		added   []entry
		commit  uint64
		want    int // bytes in flight after Release(commit)
		limit   int
		hasRoom bool
	}{
		{"nothing in flight", nil, 0, 0, 1, true},
		{"nothing committed yet", []entry{{1, 10}, {2, 20}}, 0, 30, 30, false},
		{"below the limit", []entry{{1, 10}, {2, 20}}, 0, 30, 31, true},
		{"a prefix committed", []entry{{1, 10}, {2, 20}, {3, 5}}, 2, 5, 6, true},
		{"all committed", []entry{{1, 10}, {2, 20}}, 2, 0, 1, true},
		{"a commit point beyond every entry", []entry{{4, 10}}, 9, 0, 1, true},
		{"a commit point below every entry", []entry{{4, 10}, {5, 1}}, 3, 11, 11, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f Flow
			for _, e := range tc.added {
				f.Add(e.off, e.size)
			}
			f.Release(tc.commit)
			if f.Bytes() != tc.want {
				t.Fatalf("bytes in flight %d, want %d", f.Bytes(), tc.want)
			}
			if got := f.HasRoom(tc.limit); got != tc.hasRoom {
				t.Fatalf("HasRoom(%d) = %v, want %v", tc.limit, got, tc.hasRoom)
			}
		})
	}
}

func TestFlowReleaseIsIncremental(t *testing.T) {
	var f Flow
	for off := uint64(1); off <= 5; off++ {
		f.Add(off, int(off))
	}
	f.Release(2) // 1 + 2 leave
	f.Release(1) // an older commit point changes nothing
	if f.Bytes() != 3+4+5 {
		t.Fatalf("bytes %d after Release(2) then Release(1), want 12", f.Bytes())
	}
	f.Add(6, 6)
	f.Release(5)
	if f.Bytes() != 6 {
		t.Fatalf("bytes %d after Release(5), want 6", f.Bytes())
	}
}
