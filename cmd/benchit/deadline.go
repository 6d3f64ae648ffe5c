package main

import (
	"context"
	"errors"
	"time"

	"github.com/chainrep/chain/internal/benchload"
)

// errTimedOut is the error of an operation that ran past the timeout.
var errTimedOut = errors.New("operation timed out")

// timedOut is the value of slot.started once the watcher has claimed the
// operation in flight.
const timedOut = -1

// opContext is a context operations run under, with its cancel function.
type opContext struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newOpContext(parent context.Context) *opContext {
	ctx, cancel := context.WithCancelCause(parent)
	return &opContext{ctx: ctx, cancel: cancel}
}

// watchDeadlines cancels every operation of the workers' slots that has
// run for longer than timeout; it checks every timeout/10 (at least every
// millisecond), so an operation times out between timeout and 1.1 x
// timeout after it began. The returned function stops the watcher; it
// must be called once.
func watchDeadlines(timeout time.Duration, workers []*worker) (stop func()) {
	return benchload.Every(max(timeout/10, time.Millisecond), func(now time.Time) bool {
		for _, w := range workers {
			for _, s := range w.slots {
				expire(s, now, timeout)
			}
		}
		return true
	})
}

// expire cancels the slot's operation in flight if it began more than
// timeout before now. The compare-and-swap on started decides, between
// the slot finishing the operation and the watcher expiring it, which one
// happened: an operation the watcher claimed counts as timed out even if
// its answer arrives, and its context is never used again.
func expire(s *slot, now time.Time, timeout time.Duration) {
	began := s.started.Load()
	if began <= 0 || now.Sub(time.Unix(0, began)) <= timeout {
		return
	}
	oc := s.op.Load()
	if s.started.CompareAndSwap(began, timedOut) && oc != nil {
		oc.cancel(errTimedOut)
	}
}
