package chaintest

import "testing"

// TestCutOffOverlappingSteps: a server counts as cut off while any
// isolation or pause of it is in force, so the end of a pause within an
// isolation leaves it cut off (seed 1949211192598794111 of the root
// package's TestKVUnderSimulatedFaults crashed the other replica of a
// chain while the isolated one was taken for reachable, see cutOffs).
func TestCutOffOverlappingSteps(t *testing.T) {
	type event struct {
		server int
		cut    bool // a step begins (true) or ends (false)
	}
	tests := []struct {
		name   string
		events []event
		want   map[int]bool // cutOff after the events, by server
	}{
		{"no step", nil, map[int]bool{0: false}},
		{"an isolation in force", []event{{0, true}}, map[int]bool{0: true, 1: false}},
		{"an isolation that ended", []event{{0, true}, {0, false}}, map[int]bool{0: false}},
		{"a pause ended within an isolation", []event{{0, true}, {0, true}, {0, false}}, map[int]bool{0: true}},
		{"two pauses ended within an isolation", []event{{0, true}, {0, true}, {0, false}, {0, true}, {0, false}}, map[int]bool{0: true}},
		{"the isolation ends after the pauses", []event{{0, true}, {0, true}, {0, false}, {0, false}}, map[int]bool{0: false}},
		{"servers apart", []event{{0, true}, {2, true}, {2, false}}, map[int]bool{0: true, 2: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &simRun{}
			for _, e := range tt.events {
				r.setCutOff(e.server, e.cut)
			}
			for server, want := range tt.want {
				if got := r.cutOff(server); got != want {
					t.Errorf("after %v: cutOff(%d) = %v, want %v", tt.events, server, got, want)
				}
			}
		})
	}
}
