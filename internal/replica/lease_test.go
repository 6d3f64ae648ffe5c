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
		sent       time.Duration // a heartbeat sent, noted when > 0
		echo       time.Duration // applied, as a master's reply, when answer is set
		answer     bool
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
		{"a reply renews from the echoed send instant", []step{
			{fenceAfter: 500 * ms, sent: 100 * ms, answer: true, echo: 100 * ms, now: 590 * ms, mayServe: true},
			{now: 600 * ms, mayServe: true},
			{now: 601 * ms},
		}},
		{"a reply that waited while paused renews nothing past its heartbeat", []step{
			{fenceAfter: 500 * ms, sent: 100 * ms, answer: true, echo: 100 * ms, now: 100 * ms, mayServe: true},
			{sent: 200 * ms, now: 200 * ms, mayServe: true},
			// Paused from 200ms to 2s; the reply to the heartbeat of
			// 200ms is taken at 2s.
			{answer: true, echo: 200 * ms, now: 2000 * ms},
		}},
		{"a reply to an older heartbeat than the latest sent renews from its own", []step{
			{fenceAfter: 500 * ms, sent: 100 * ms, now: 100 * ms},
			{sent: 200 * ms, answer: true, echo: 100 * ms, now: 600 * ms, mayServe: true},
			{now: 601 * ms},
		}},
		{"a reply that echoes nothing (an older master) renews nothing", []step{
			{fenceAfter: 500 * ms, sent: 100 * ms, answer: true, echo: 0, now: 100 * ms},
			{answer: true, echo: 100 * ms, now: 100 * ms, mayServe: true},
			{answer: true, echo: 0, now: 601 * ms},
		}},
		{"an echo later than every heartbeat sent is ignored", []step{
			{fenceAfter: 500 * ms, sent: 100 * ms, answer: true, echo: 100 * ms, now: 100 * ms, mayServe: true},
			{answer: true, echo: 900 * ms, now: 601 * ms},
		}},
		{"an echo before any heartbeat was sent is ignored", []step{
			{fenceAfter: 500 * ms, answer: true, echo: 50 * ms, now: 60 * ms},
		}},
		{"a replayed reply does not move the lease back", []step{
			{fenceAfter: 500 * ms, sent: 100 * ms, answer: true, echo: 100 * ms, now: 100 * ms, mayServe: true},
			{sent: 300 * ms, answer: true, echo: 300 * ms, now: 300 * ms, mayServe: true},
			{answer: true, echo: 100 * ms, now: 800 * ms, mayServe: true},
			{now: 801 * ms},
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
				if s.sent > 0 {
					l = l.Sent(s.sent)
				}
				if s.answer {
					l = l.Answered(s.echo)
				}
				if got := l.MayServe(s.now); got != s.mayServe {
					t.Fatalf("step %d: MayServe(%v) = %v, want %v (lease %+v)", i, s.now, got, s.mayServe, l)
				}
			}
		})
	}
}

// TestLeaseEchoes is the rule that decides whether a master's reply
// answers a heartbeat the node sent (defect 4 of issue 12: a reply must
// renew the lease from its heartbeat's send instant, and only one).
func TestLeaseEchoes(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		sent []time.Duration // heartbeats noted, in order
		echo time.Duration
		want bool
	}{
		{"the latest heartbeat", []time.Duration{100 * ms, 200 * ms}, 200 * ms, true},
		{"an older heartbeat", []time.Duration{100 * ms, 200 * ms}, 100 * ms, true},
		{"no echo: an older master", []time.Duration{100 * ms}, 0, false},
		{"no heartbeat sent yet", nil, 100 * ms, false},
		{"later than every heartbeat sent: forged or another process's", []time.Duration{100 * ms, 200 * ms}, 201 * ms, false},
		{"notes out of order keep the latest", []time.Duration{200 * ms, 100 * ms}, 150 * ms, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Lease
			for _, s := range tt.sent {
				l = l.Sent(s)
			}
			if got := l.Echoes(tt.echo); got != tt.want {
				t.Fatalf("Echoes(%v) after sends %v = %v, want %v", tt.echo, tt.sent, got, tt.want)
			}
		})
	}
}
