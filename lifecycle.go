package chain

import (
	"context"
	"sync"
	"sync/atomic"
)

// lifecycle tracks a node's goroutines and why it stopped serving.
type lifecycle struct {
	started atomic.Bool
	ctx     context.Context // cancelled when the node halts (fails or closes)
	cancel  context.CancelFunc
	// sendCtx bounds sends; it outlives a failure, so that a failed node
	// can still refuse requests with the reason, and ends at Close.
	sendCtx    context.Context
	cancelSend context.CancelFunc
	wg         sync.WaitGroup

	mu    sync.Mutex
	cause error
}

func (l *lifecycle) init() {
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.sendCtx, l.cancelSend = context.WithCancel(context.Background())
}

// spawn runs f on a goroutine that Close waits for, unless the node has
// halted; it reports whether f was started.
func (l *lifecycle) spawn(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != nil {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	return true
}

// halt records cause and stops the node's loops; it reports whether this
// call was the first.
func (l *lifecycle) halt(cause error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause != nil {
		return false
	}
	l.cause = cause
	l.cancel()
	return true
}

// done is closed once the node halts.
func (l *lifecycle) done() <-chan struct{} { return l.ctx.Done() }

// err returns why the node halted, or nil while it serves.
func (l *lifecycle) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// appliedMark is the offset through which committed entries have been
// applied, with a way to wait for it.
type appliedMark struct {
	mu      sync.Mutex
	offset  uint64
	changed chan struct{}
	// replayedThrough is the commit point found at start: entries through it
	// are re-applied to rebuild state, but not replied to. Set before the
	// applier starts; read only by it.
	replayedThrough uint64
}

func (a *appliedMark) init() { a.changed = make(chan struct{}) }

func (a *appliedMark) get() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.offset
}

func (a *appliedMark) set(off uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offset = off
	close(a.changed)
	a.changed = make(chan struct{})
}

// wait blocks until the mark reaches off or either channel is closed; it
// reports whether the mark was reached.
func (a *appliedMark) wait(off uint64, cancel, done <-chan struct{}) bool {
	for {
		a.mu.Lock()
		reached, changed := a.offset >= off, a.changed
		a.mu.Unlock()
		if reached {
			return true
		}
		select {
		case <-changed:
		case <-cancel:
			return false
		case <-done:
			return false
		}
	}
}

// counters are the node's monotonic event counts, reported by Stats.
type counters struct {
	ordered   atomic.Uint64 // entries the head ordered
	received  atomic.Uint64 // entries received from the predecessor
	applied   atomic.Uint64 // entries applied
	replies   atomic.Uint64 // replies sent by the tail
	refused   atomic.Uint64 // client requests refused
	queries   atomic.Uint64 // queries answered
	pullsSent atomic.Uint64 // entries sent to the successor
}
