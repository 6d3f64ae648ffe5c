package chain

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// Log is a node's ordered log: the entries in its Storage plus the commit
// point, the offset through which entries are known to be held by every
// member of the chain. Entries at or below the commit point never change.
//
// The read methods are safe for concurrent use and may be called after the
// node is closed (the storage still holds the log).
type Log struct {
	st Storage

	mu      sync.Mutex
	first   uint64
	last    uint64
	commit  uint64
	changed chan struct{} // closed and replaced whenever last or commit moves
	closed  chan struct{} // closed when the node stops
	recent  recentEntries // the entries appended last
	// appendTime, if set, observes the duration of each Storage.Append.
	appendTime prometheus.Observer
}

// newLog wraps st with no entry committed yet (see Node.restoreCommit).
func newLog(st Storage) *Log {
	l := &Log{
		st:      st,
		first:   st.FirstOffset(),
		last:    st.LastOffset(),
		changed: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	return l
}

// FirstOffset returns the lowest offset the log holds (LastOffset()+1 when
// it holds none).
func (l *Log) FirstOffset() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

// LastOffset returns the highest offset the log holds, committed or not.
func (l *Log) LastOffset() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// CommitPoint returns the highest committed offset, 0 when none is.
func (l *Log) CommitPoint() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.commit
}

// Read returns up to max committed entries starting at offset from, without
// waiting: it returns no entries when from is beyond the commit point. It
// returns an error wrapping ErrOutOfRange when from is below FirstOffset
// (those entries were truncated) or zero, and ErrInvalidArgument when max is
// not positive. Use WaitCommitted to wait for more entries.
func (l *Log) Read(ctx context.Context, from uint64, max int) ([]Entry, error) {
	return l.read(ctx, from, max, DefaultMaxBatchBytes)
}

func (l *Log) read(ctx context.Context, from uint64, max, maxBytes int) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, wrapf(ErrInvalidArgument, "read: max %d must be positive", max)
	}
	l.mu.Lock()
	first, commit := l.first, l.commit
	l.mu.Unlock()
	if from == 0 || from < first {
		return nil, wrapf(ErrOutOfRange, "read from %d: log starts at %d", from, first)
	}
	if from > commit {
		return nil, nil
	}
	to := min(commit+1, from+uint64(max))
	ents, err := l.st.Entries(from, to, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read [%d, %d): %w", from, to, err)
	}
	return ents, nil
}

// WaitCommitted blocks until the entry at offset off is committed, ctx is
// done, or the node stops (ErrClosed).
func (l *Log) WaitCommitted(ctx context.Context, off uint64) error {
	for {
		l.mu.Lock()
		commit, changed := l.commit, l.changed
		l.mu.Unlock()
		if commit >= off {
			return nil
		}
		select {
		case <-changed:
		case <-l.closed:
			return fmt.Errorf("wait for offset %d: %w", off, ErrClosed)
		case <-ctx.Done():
			return fmt.Errorf("wait for offset %d: %w", off, ctx.Err())
		}
	}
}

// state returns the first and last offsets, the commit point and a channel
// that is closed when any of them next changes.
func (l *Log) state() (first, last, commit uint64, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, l.last, l.commit, l.changed
}

// notifyLocked wakes every waiter. l.mu must be held.
func (l *Log) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// append stores ents, which must continue the log densely. One goroutine at
// a time may call it.
func (l *Log) append(ents []Entry) error {
	if len(ents) == 0 {
		return nil
	}
	start := time.Now()
	err := l.st.Append(ents)
	metrics.Since(l.appendTime, start)
	if err != nil {
		return fmt.Errorf("append %d entries at %d: %w", len(ents), ents[0].Offset, err)
	}
	l.mu.Lock()
	l.last = ents[len(ents)-1].Offset
	l.recent.add(ents)
	l.notifyLocked()
	l.mu.Unlock()
	return nil
}

// truncateAfterCommit removes the entries above the commit point. No
// append may run concurrently.
func (l *Log) truncateAfterCommit() error {
	l.mu.Lock()
	commit, last := l.commit, l.last
	l.mu.Unlock()
	if last <= commit {
		return nil
	}
	if err := l.st.TruncateSuffix(commit + 1); err != nil {
		return fmt.Errorf("drop entries after %d: %w", commit, err)
	}
	l.mu.Lock()
	l.last = commit
	l.recent.clear()
	l.notifyLocked()
	l.mu.Unlock()
	return nil
}

// recordCommit records c, a commit point decided by the commit rule
// (replica.DecideCommit), which never exceeds what the log holds. The
// commit point only moves forward (invariant 3): an older decision, made
// concurrently with a newer one, is ignored.
func (l *Log) recordCommit(c uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c <= l.commit || c > l.last {
		return
	}
	l.commit = c
	l.notifyLocked()
}

// entries returns stored entries in [from, to), committed or not, up to
// maxBytes. The entries may be shared with the log's memory of recent
// ones: the caller must not modify them or their data.
func (l *Log) entries(from, to uint64, maxBytes int) ([]Entry, error) {
	l.mu.Lock()
	ents, ok := l.recent.get(from, to, maxBytes)
	l.mu.Unlock()
	if ok {
		return ents, nil
	}
	ents, err := l.st.Entries(from, to, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read entries [%d, %d): %w", from, to, err)
	}
	return ents, nil
}

// close wakes every waiter with ErrClosed.
func (l *Log) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
}
