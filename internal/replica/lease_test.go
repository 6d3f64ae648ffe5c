package replica

import (
	"testing"
	"time"
)

func TestLease(t *testing.T) {
	const ms = time.Millisecond
	type step struct {
		fenceAfter time.Duration // applied first when > 0
		renewAt    time.Duration // applied when renew is set
		renew      bool
		now        time.Duration
		mayServe   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no contact yet: fenced", []step{{now: 0}, {fenceAfter: 500 * ms, now: 10 * ms}}},
		{"serves within the lease, fenced after it", []step{
			{fenceAfter: 500 * ms, renew: true, renewAt: 100 * ms, now: 100 * ms, mayServe: true},
			{now: 600 * ms, mayServe: true},
			{now: 601 * ms},
		}},
		{"a late reply for an older heartbeat does not extend the lease", []step{
			{fenceAfter: 500 * ms, renew: true, renewAt: 300 * ms, now: 310 * ms, mayServe: true},
			{renew: true, renewAt: 100 * ms, now: 790 * ms, mayServe: true},
			{now: 801 * ms},
		}},
		{"the lease runs from when the heartbeat was sent, not when its reply came", []step{
			{fenceAfter: 500 * ms, renew: true, renewAt: 0, now: 450 * ms, mayServe: true},
			{now: 501 * ms},
		}},
		{"a shorter length takes effect at once", []step{
			{fenceAfter: 500 * ms, renew: true, renewAt: 0, now: 300 * ms, mayServe: true},
			{fenceAfter: 200 * ms, now: 300 * ms},
		}},
		{"a zero length leaves the lease as it was", []step{
			{fenceAfter: 500 * ms, renew: true, renewAt: 0, now: 300 * ms, mayServe: true},
			{now: 300 * ms, mayServe: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Lease
			for i, s := range tt.steps {
				l = l.WithFenceAfter(s.fenceAfter)
				if s.renew {
					l = l.Renewed(s.renewAt)
				}
				if got := l.MayServe(s.now); got != s.mayServe {
					t.Fatalf("step %d: MayServe(%v) = %v, want %v (lease %+v)", i, s.now, got, s.mayServe, l)
				}
			}
		})
	}
}
