package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExpireCancelsOnlyOverdueOperations: the watcher claims and cancels an
// operation past the timeout, and leaves alone one within it and a slot
// between operations.
func TestExpireCancelsOnlyOverdueOperations(t *testing.T) {
	now := time.Now()
	timeout := time.Second
	newSlot := func(started int64) *slot {
		s := &slot{}
		s.op.Store(newOpContext(context.Background()))
		s.started.Store(started)
		return s
	}
	overdue := newSlot(now.Add(-2 * timeout).UnixNano())
	recent := newSlot(now.Add(-timeout / 2).UnixNano())
	idle := newSlot(0)
	for _, s := range []*slot{overdue, recent, idle} {
		expire(s, now, timeout)
	}

	require.EqualValues(t, timedOut, overdue.started.Load())
	require.ErrorIs(t, context.Cause(overdue.op.Load().ctx), errTimedOut)
	for _, s := range []*slot{recent, idle} {
		require.NotEqualValues(t, timedOut, s.started.Load())
		require.NoError(t, s.op.Load().ctx.Err())
		s.op.Load().cancel(nil)
	}
}
