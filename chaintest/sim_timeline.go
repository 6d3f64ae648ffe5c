package chaintest

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// timeline runs a simulation's events at their times, one at a time on
// the goroutine that calls run, and keeps the log of what they did.
// Events may be added from any goroutine (a tap adds one to act at once).
type timeline struct {
	start time.Time
	wake  chan struct{} // capacity 1: an event was added

	mu     sync.Mutex
	events []timedEvent // sorted by time, then by order of addition
	next   int          // order of the next event added
	log    []string
}

// timedEvent is something to do at a time since the start; do returns
// what it did, for the log ("" logs nothing).
type timedEvent struct {
	at    time.Duration
	order int
	do    func() string
}

func newTimeline() *timeline {
	return &timeline{start: time.Now(), wake: make(chan struct{}, 1)}
}

// now returns the time since the start.
func (tl *timeline) now() time.Duration { return time.Since(tl.start) }

// add schedules do at at (now, if at has passed).
func (tl *timeline) add(at time.Duration, do func() string) {
	tl.mu.Lock()
	ev := timedEvent{at: at, order: tl.next, do: do}
	tl.next++
	i, _ := slices.BinarySearchFunc(tl.events, ev, func(a, b timedEvent) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.order - b.order
	})
	tl.events = slices.Insert(tl.events, i, ev)
	tl.mu.Unlock()
	select {
	case tl.wake <- struct{}{}:
	default:
	}
}

// after schedules do d from now.
func (tl *timeline) after(d time.Duration, do func() string) { tl.add(tl.now()+d, do) }

// note adds a line to the log, stamped with the time.
func (tl *timeline) note(format string, args ...any) {
	line := fmt.Sprintf("%8s ", fmtAt(tl.now())) + fmt.Sprintf(format, args...)
	tl.mu.Lock()
	tl.log = append(tl.log, line)
	tl.mu.Unlock()
}

// lines returns the log.
func (tl *timeline) lines() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.log)
}

// pop removes and returns the first event due by limit.
func (tl *timeline) pop(limit time.Duration) (timedEvent, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.events) == 0 || tl.events[0].at > limit {
		return timedEvent{}, false
	}
	ev := tl.events[0]
	tl.events = tl.events[1:]
	return ev, true
}

// first returns the time of the first event, or end when none comes
// before it.
func (tl *timeline) first(end time.Duration) time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.events) == 0 || tl.events[0].at > end {
		return end
	}
	return tl.events[0].at
}

// run runs the events due before end, each at its time, and returns at
// end.
func (tl *timeline) run(end time.Duration) {
	for {
		if ev, ok := tl.pop(min(tl.now(), end)); ok {
			tl.do(ev)
			continue
		}
		if tl.now() >= end {
			return
		}
		timer := time.NewTimer(tl.first(end) - tl.now())
		select {
		case <-timer.C:
		case <-tl.wake:
		}
		timer.Stop()
	}
}

// drain runs every event left, now, in their order.
func (tl *timeline) drain() {
	for {
		ev, ok := tl.pop(1<<62 - 1)
		if !ok {
			return
		}
		tl.do(ev)
	}
}

func (tl *timeline) do(ev timedEvent) {
	if what := ev.do(); what != "" {
		tl.note("%s", what)
	}
}
