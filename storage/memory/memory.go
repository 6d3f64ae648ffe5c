// Package memory provides a chain.Storage that keeps the log and its
// metadata in memory. Nothing survives the process, so it suits tests,
// examples and nodes whose durability comes from the other chain members.
// It is also a chain.SnapshotStore that keeps the newest snapshot in
// memory.
package memory

import (
	"fmt"
	"sync"

	"github.com/chainrep/chain"
)

// Storage is an in-memory chain.Storage. It is safe for concurrent use.
// It shares no memory with its callers: Append and SetMeta copy what they
// are given, and Entries and Meta return copies. A nil error from a
// mutating method means the change is visible to every later call; nothing
// is ever written to stable storage.
//
// Create one with New; the zero value is not usable.
type Storage struct {
	mu      sync.RWMutex
	entries segments
	meta    map[string][]byte
	closed  bool
	// snap is the newest committed snapshot, nil when there is none;
	// writing is the snapshot being written, nil when there is none.
	snap    *snapshot
	writing *snapshotWriter
}

var _ chain.Storage = (*Storage)(nil)

// New returns an empty storage: FirstOffset 1, LastOffset 0, no metadata.
func New() *Storage {
	return &Storage{entries: newSegments(1), meta: make(map[string][]byte)}
}

// Append adds entries at the end of the log, copying each entry and its
// Data. entries[i].Offset must be LastOffset()+1+i; otherwise Append
// returns an error wrapping chain.ErrNotDense and changes nothing. An empty
// batch changes nothing. After Close it returns an error wrapping
// chain.ErrClosed.
func (s *Storage) Append(entries []chain.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.entries.next
	if s.closed {
		return fmt.Errorf("memory storage: append at %d: %w", next, chain.ErrClosed)
	}
	for i := range entries {
		if want := next + uint64(i); entries[i].Offset != want {
			return fmt.Errorf("memory storage: append at %d: %w: entry %d has offset %d, want %d",
				next, chain.ErrNotDense, i, entries[i].Offset, want)
		}
	}
	// One allocation holds the batch's payloads.
	buf := make([]byte, 0, dataSize(entries))
	for _, e := range entries {
		start := len(buf)
		buf = append(buf, e.Data...)
		e.Data = buf[start:len(buf):len(buf)]
		s.entries.push(e)
	}
	return nil
}

// Entries returns copies of the entries with offsets in [from, to), in
// order, stopping after the first entry that brings their total Size() to
// maxBytes or more; so at least one entry is returned when from < to, and
// a maxBytes of zero or less returns exactly one. It returns an error
// wrapping chain.ErrOutOfRange when from < FirstOffset(),
// to > LastOffset()+1 or from > to, and one wrapping chain.ErrClosed after
// Close. The caller owns the returned entries and their Data.
func (s *Storage) Entries(from, to uint64, maxBytes int) ([]chain.Entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memory storage: entries [%d, %d): %w", from, to, chain.ErrClosed)
	}
	if from < s.entries.first || to > s.entries.next || from > to {
		return nil, fmt.Errorf("memory storage: entries [%d, %d) of log [%d, %d]: %w",
			from, to, s.entries.first, s.entries.next-1, chain.ErrOutOfRange)
	}
	// Find where maxBytes stops the read, then copy the entries and their
	// payloads with one allocation each.
	end, total, data := from, 0, 0
	for end < to {
		e := s.entries.at(end)
		end++
		data += len(e.Data)
		if total += e.Size(); total >= maxBytes {
			break
		}
	}
	out := make([]chain.Entry, 0, end-from)
	buf := make([]byte, 0, data)
	for off := from; off < end; off++ {
		e := *s.entries.at(off)
		start := len(buf)
		buf = append(buf, e.Data...)
		e.Data = buf[start:len(buf):len(buf)]
		out = append(out, e)
	}
	return out, nil
}

// FirstOffset returns the lowest offset held, or LastOffset()+1 when the
// log is empty. It cannot report an error: after Close the storage holds
// nothing, so it returns LastOffset()+1.
func (s *Storage) FirstOffset() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.entries.first
}

// LastOffset returns the highest offset held, or the offset just below the
// next append when the log is empty. After Close it keeps returning the
// value it had at Close.
func (s *Storage) LastOffset() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.entries.next - 1
}

// TruncateSuffix removes the entries with offsets >= from, so that
// LastOffset() becomes from-1. from must be in [FirstOffset(),
// LastOffset()+1]; otherwise it returns an error wrapping
// chain.ErrOutOfRange. After Close it returns an error wrapping
// chain.ErrClosed.
func (s *Storage) TruncateSuffix(from uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory storage: truncate suffix from %d: %w", from, chain.ErrClosed)
	}
	if from < s.entries.first || from > s.entries.next {
		return fmt.Errorf("memory storage: truncate suffix from %d of log [%d, %d]: %w",
			from, s.entries.first, s.entries.next-1, chain.ErrOutOfRange)
	}
	s.entries.truncateSuffix(from)
	return nil
}

// TruncatePrefix removes the entries with offsets < before, so that
// FirstOffset() becomes before. When before > LastOffset()+1 the log
// becomes empty and the next append takes offset before. A before at or
// below FirstOffset() changes nothing. The memory of the removed entries
// is released (payloads appended in one batch share an allocation, which
// is freed once none of them is held). After Close it returns an error
// wrapping chain.ErrClosed.
func (s *Storage) TruncatePrefix(before uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory storage: truncate prefix before %d: %w", before, chain.ErrClosed)
	}
	if before <= s.entries.first {
		return nil
	}
	s.entries.truncatePrefix(before)
	return nil
}

// SetMeta stores a copy of value under key, replacing any earlier value.
// An empty or nil value is stored as present. key must not be empty;
// otherwise it returns an error wrapping chain.ErrInvalidArgument. After
// Close it returns an error wrapping chain.ErrClosed.
func (s *Storage) SetMeta(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory storage: set meta %q: %w", key, chain.ErrClosed)
	}
	if key == "" {
		return fmt.Errorf("memory storage: set meta: %w: empty key", chain.ErrInvalidArgument)
	}
	s.meta[key] = append([]byte{}, value...)
	return nil
}

// Meta returns a copy of the value stored under key and whether there is
// one. After Close it returns an error wrapping chain.ErrClosed.
func (s *Storage) Meta(key string) (value []byte, ok bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false, fmt.Errorf("memory storage: meta %q: %w", key, chain.ErrClosed)
	}
	value, ok = s.meta[key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, value...), true, nil
}

// Close releases the entries, metadata and snapshot, and aborts a snapshot
// being written. Every later call other than
// FirstOffset and LastOffset, including a second Close, returns an error
// wrapping chain.ErrClosed.
func (s *Storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory storage: close: %w", chain.ErrClosed)
	}
	s.closed = true
	s.entries.reset(s.entries.next)
	s.meta = nil
	s.snap, s.writing = nil, nil
	return nil
}

// dataSize returns the total payload bytes of entries.
func dataSize(entries []chain.Entry) int {
	n := 0
	for i := range entries {
		n += len(entries[i].Data)
	}
	return n
}
