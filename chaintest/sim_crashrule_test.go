package chaintest

import "testing"

// TestCrashKeepsChain: a partitioned schedule crashes a server only while
// every chain keeps, on another server, a reachable member that holds
// every entry committed or acknowledged so far.
func TestCrashKeepsChain(t *testing.T) {
	tests := []struct {
		name     string
		crashed  int
		acked    uint64
		replicas []replicaView
		want     bool
	}{
		{"the other member holds the log", 0, 0,
			[]replicaView{{server: 0, member: true, reachable: true, commit: 9, last: 10}, {server: 1, member: true, reachable: true, commit: 9, last: 9}}, true},
		{"the other member is cut off", 0, 0,
			[]replicaView{{server: 0, member: true, reachable: true, commit: 9, last: 10}, {server: 1, member: true, commit: 9, last: 9}}, false},
		{"the other member restarted empty, no offsets reported", 0, 0,
			[]replicaView{{server: 0, member: true, reachable: true, commit: 9, last: 9}, {server: 1, member: true, reachable: true}}, false},
		{"an acknowledged write beyond the other's log", 0, 12,
			[]replicaView{{server: 0, member: true, reachable: true, commit: 12, last: 12}, {server: 1, member: true, reachable: true, commit: 9, last: 11}}, false},
		{"only the joining node is elsewhere", 0, 0,
			[]replicaView{{server: 0, member: true, reachable: true, commit: 9, last: 9}, {server: 1, reachable: true, commit: 9, last: 9}}, false},
		{"the chain has no replica on the crashed server", 2, 0,
			[]replicaView{{server: 0, member: true, reachable: true, commit: 5, last: 5}, {server: 1, member: true, commit: 5, last: 5}}, true},
		{"no replica runs", 0, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crashKeepsChain(tt.crashed, tt.acked, tt.replicas); got != tt.want {
				t.Fatalf("crashKeepsChain(%d, %d, %+v) = %v, want %v", tt.crashed, tt.acked, tt.replicas, got, tt.want)
			}
		})
	}
}
