package chaintest

import "testing"

// TestWipeKeepsLog: a schedule wipes a node only while another running
// member holds every entry anyone may have seen committed or acknowledged.
// The commit points count beside the acknowledged offsets the clients
// report: the root package's kv-store workload reports none, and seed
// 2892162522194259027 of its TestKVUnderSimulatedFaults wiped a head that
// alone held entry 169 (committed as the sole member) while the new tail,
// promoted from joining, held 168: the chain lost it, and the next head
// wrote another entry there.
func TestWipeKeepsLog(t *testing.T) {
	tests := []struct {
		name    string
		acked   uint64
		commits []uint64
		others  []uint64
		want    bool
	}{
		{"the wiped node alone committed an entry no client reported", 0, []uint64{169, 168}, []uint64{168}, false},
		{"another member holds every committed entry", 0, []uint64{169, 168}, []uint64{169}, true},
		{"an acknowledged write beyond every commit point seen", 170, []uint64{169}, []uint64{169}, false},
		{"one of the others holds it", 12, []uint64{12, 9}, []uint64{9, 14}, true},
		{"no other member runs", 0, []uint64{0}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wipeKeepsLog(tt.acked, tt.commits, tt.others); got != tt.want {
				t.Fatalf("wipeKeepsLog(%d, %v, %v) = %v, want %v", tt.acked, tt.commits, tt.others, got, tt.want)
			}
		})
	}
}
