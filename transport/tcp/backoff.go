package tcp

import "time"

// backoff is the exponential delay between failed attempts to connect to a
// peer. It is a pure value: the caller asks for the delay and reports
// outcomes.
type backoff struct {
	min, max time.Duration
	// cur is the delay before the next attempt; zero after a success.
	cur time.Duration
}

// delay returns how long to wait before the next attempt.
func (b *backoff) delay() time.Duration { return b.cur }

// failed records a failed attempt and doubles the delay, from min (or 1ms
// when min is zero) up to max.
func (b *backoff) failed() {
	switch {
	case b.cur == 0:
		b.cur = max(b.min, time.Millisecond)
	case b.cur < b.max/2:
		b.cur *= 2
	default:
		b.cur = b.max
	}
	b.cur = min(b.cur, b.max)
}

// succeeded records a healthy connection: the next attempt is immediate.
func (b *backoff) succeeded() { b.cur = 0 }
