// Package benchload holds what the load generators cmd/benchit and
// bench/raftcompare share, so that the two measure in the same way: the
// operation budget their slots draw from, how often a slot hands its
// latencies to its worker, and the progress line.
package benchload

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// FlushEvery is how many latencies a slot buffers before it adds them to
// its worker's histogram, under the worker's lock: the lock is taken once
// per FlushEvery operations, and a slot writes its buffer sequentially
// instead of scattering writes over a histogram of its own.
const FlushEvery = 512

// Budget is what every operation slot of a run shares: an optional bound on
// the run's operations, and the signal that ends the run. It is safe for
// concurrent use.
type Budget struct {
	count   int64 // > 0: the most operations of the whole run
	tickets atomic.Int64
	stop    atomic.Bool
}

// NewBudget returns a budget of count operations; count 0 leaves the run
// unbounded until Stop.
func NewBudget(count int64) *Budget { return &Budget{count: count} }

// Next reports whether a slot may start another operation, taking a ticket
// for it when the run is bounded.
func (b *Budget) Next() bool {
	if b.stop.Load() {
		return false
	}
	return b.count == 0 || b.tickets.Add(1) <= b.count
}

// Bounded reports whether the run ends after a number of operations.
func (b *Budget) Bounded() bool { return b.count > 0 }

// Stop ends the run: Next reports false from now on.
func (b *Budget) Stop() { b.stop.Store(true) }

// Counter is a worker's running totals: operations done and failed.
type Counter interface {
	Progress() (done, failed int64)
}

// StartProgress prints a progress line to w every interval (none when
// interval is 0), rewriting it in place, with the totals of counters. The
// returned function stops it and ends the line; call it once.
func StartProgress[C Counter](interval time.Duration, counters []C, w io.Writer) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	start := time.Now()
	last, lastAt := int64(0), start
	stopTicks := Every(interval, func(now time.Time) bool {
		ops, failed := Totals(counters)
		rate := float64(ops-last) / now.Sub(lastAt).Seconds()
		last, lastAt = ops, now
		fmt.Fprintf(w, "\r%7.1fs  %10d ops  %9.0f ops/s  %6d errors ",
			now.Sub(start).Seconds(), ops, rate, failed)
		return true
	})
	return func() { stopTicks(); fmt.Fprintln(w) }
}

// Totals sums the counters' totals.
func Totals[C Counter](counters []C) (done, failed int64) {
	for _, c := range counters {
		d, f := c.Progress()
		done, failed = done+d, failed+f
	}
	return done, failed
}
