package pebble

import (
	"errors"
	"fmt"

	pebbledb "github.com/cockroachdb/pebble/v2"

	"github.com/chainrep/chain"
)

// Append adds entries at the end of the log as one batch. entries[i].Offset
// must be LastOffset()+1+i; otherwise Append returns an error wrapping
// chain.ErrNotDense and changes nothing. An empty batch changes nothing.
// Append encodes the entries into the batch and retains none of them.
// Under the default sync policy the entries are on stable storage when it
// returns nil; they become visible to Entries and LastOffset only then.
//
// It returns an error wrapping chain.ErrClosed after Close, and one
// wrapping ErrFailed after a failure (including one this call hit).
func (s *Storage) Append(entries []chain.Entry) error {
	if !s.enter() {
		return closedError("append")
	}
	defer s.exit()
	s.logMu.Lock()
	defer s.logMu.Unlock()
	next := s.LastOffset() + 1
	op := fmt.Sprintf("append %d entries at %d", len(entries), next)
	if err := s.failure.check(op); err != nil {
		return err
	}
	for i := range entries {
		if want := next + uint64(i); entries[i].Offset != want {
			return fmt.Errorf("pebble storage: append at %d: %w: entry %d has offset %d, want %d",
				next, chain.ErrNotDense, i, entries[i].Offset, want)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if last := entries[len(entries)-1].Offset; last < next {
		return fmt.Errorf("pebble storage: %s: %w: offsets overflow at %d", op, chain.ErrOutOfRange, last)
	}
	size := 0
	for i := range entries {
		size += entryKeyLen + encodedEntrySize(&entries[i])
	}
	b := s.db.NewBatchWithSize(size)
	var key, rec []byte
	for i := range entries {
		key = appendEntryKey(key[:0], entries[i].Offset)
		rec = appendEntry(rec[:0], &entries[i])
		if err := b.Set(key, rec, nil); err != nil {
			_ = b.Close()
			return fmt.Errorf("pebble storage: %s: %w", op, err)
		}
	}
	if err := s.commit(op, b); err != nil {
		return err
	}
	s.bounds.Lock()
	s.next = next + uint64(len(entries))
	s.bounds.Unlock()
	s.appended.Add(uint64(len(entries)))
	return nil
}

// Entries returns copies of the entries with offsets in [from, to), in
// order, stopping after the first entry that brings their total Size() to
// maxBytes or more; so at least one entry is returned when from < to, and
// a maxBytes of zero or less returns exactly one. Every entry is checked
// against its CRC-32C; a corrupt or missing one makes Entries return an
// error wrapping ErrCorrupt that names its offset, and no entries.
//
// It returns an error wrapping chain.ErrOutOfRange when from <
// FirstOffset(), to > LastOffset()+1 or from > to, and one wrapping
// chain.ErrClosed after Close. It keeps working after a failure. The
// caller owns the returned entries; they share no memory with Pebble.
func (s *Storage) Entries(from, to uint64, maxBytes int) ([]chain.Entry, error) {
	if !s.enter() {
		return nil, closedError(fmt.Sprintf("entries [%d, %d)", from, to))
	}
	defer s.exit()
	iter, err := s.iterRange(from, to)
	if err != nil {
		return nil, err
	}
	if iter == nil {
		return []chain.Entry{}, nil
	}
	out, err := readEntries(iter, from, to, maxBytes)
	if closeErr := iter.Close(); err == nil && closeErr != nil {
		err = readError(from, closeErr)
	}
	if err != nil {
		return nil, fmt.Errorf("pebble storage: entries [%d, %d): %w", from, to, err)
	}
	return out, nil
}

// iterRange checks that [from, to) is held and returns an iterator over
// its entries, or nil when the range is empty. The iterator reads a
// snapshot taken while the bounds could not change, so it holds every
// entry of the range even if a truncation follows at once.
func (s *Storage) iterRange(from, to uint64) (*pebbledb.Iterator, error) {
	s.bounds.RLock()
	defer s.bounds.RUnlock()
	if from < s.first || to > s.next || from > to {
		return nil, fmt.Errorf("pebble storage: entries [%d, %d) of log [%d, %d]: %w",
			from, to, s.first, s.next-1, chain.ErrOutOfRange)
	}
	if from == to {
		return nil, nil
	}
	iter, err := s.db.NewIter(&pebbledb.IterOptions{LowerBound: entryKey(from), UpperBound: entryKey(to)})
	if err != nil {
		return nil, fmt.Errorf("pebble storage: entries [%d, %d): %w", from, to, err)
	}
	return iter, nil
}

// readEntries decodes the entries [from, to) from iter as Entries
// returns them. It reports a gap or a corrupt entry as an error wrapping
// ErrCorrupt that names the offset.
func readEntries(iter *pebbledb.Iterator, from, to uint64, maxBytes int) ([]chain.Entry, error) {
	out := make([]chain.Entry, 0, min(to-from, 256))
	var alloc slab
	want, total := from, 0
	for valid := iter.First(); valid; valid = iter.Next() {
		off, err := parseEntryKey(iter.Key())
		if err != nil {
			return nil, fmt.Errorf("entry after offset %d: %w", want-1, err)
		}
		if off != want {
			return nil, fmt.Errorf("entry at offset %d: %w: missing (the next stored entry is at %d)", want, ErrCorrupt, off)
		}
		rec, err := iter.ValueAndErr()
		if err != nil {
			return nil, readError(off, err)
		}
		e, err := decodeEntryAt(rec, off, &alloc)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		want++
		if total += e.Size(); total >= maxBytes {
			return out, nil
		}
	}
	if err := iter.Error(); err != nil {
		return nil, readError(want, err)
	}
	if want != to {
		return nil, fmt.Errorf("entry at offset %d: %w: missing (no stored entry at or after it)", want, ErrCorrupt)
	}
	return out, nil
}

// decodeEntryAt decodes the record of the entry stored under offset off
// and checks that it holds that offset. Errors wrap ErrCorrupt and name
// off.
func decodeEntryAt(rec []byte, off uint64, alloc *slab) (chain.Entry, error) {
	e, err := decodeEntry(rec, alloc)
	if err == nil && e.Offset != off {
		err = fmt.Errorf("%w: record holds offset %d", ErrCorrupt, e.Offset)
	}
	if err != nil {
		return chain.Entry{}, fmt.Errorf("entry at offset %d: %w", off, err)
	}
	return e, nil
}

// readError wraps an error Pebble returned while reading near offset off;
// Pebble's corruption errors also wrap ErrCorrupt.
func readError(off uint64, err error) error {
	if errors.Is(err, pebbledb.ErrCorruption) {
		return fmt.Errorf("entry at offset %d: %w: %w", off, ErrCorrupt, err)
	}
	return fmt.Errorf("read at offset %d: %w", off, err)
}

// beginLogChange starts op, a change to the log other than an append: it
// holds the storage open and the log's lock until end is called, and
// fails if the storage is closed or failed.
func (s *Storage) beginLogChange(op string) (end func(), err error) {
	if !s.enter() {
		return nil, closedError(op)
	}
	s.logMu.Lock()
	end = func() { s.logMu.Unlock(); s.exit() }
	if err := s.failure.check(op); err != nil {
		end()
		return nil, err
	}
	return end, nil
}

// TruncateSuffix removes the entries with offsets >= from, so that
// LastOffset() becomes from-1, with one DeleteRange batch. from must be in
// [FirstOffset(), LastOffset()+1]; otherwise it returns an error wrapping
// chain.ErrOutOfRange. from = LastOffset()+1 changes nothing. The removed
// entries stop being readable when the call starts; under the default
// sync policy the removal is on stable storage when it returns nil.
//
// It returns an error wrapping chain.ErrClosed after Close, and one
// wrapping ErrFailed after a failure.
func (s *Storage) TruncateSuffix(from uint64) error {
	op := fmt.Sprintf("truncate suffix from %d", from)
	end, err := s.beginLogChange(op)
	if err != nil {
		return err
	}
	defer end()
	s.bounds.Lock()
	first, next := s.first, s.next
	if from < first || from > next {
		s.bounds.Unlock()
		return fmt.Errorf("pebble storage: %s of log [%d, %d]: %w", op, first, next-1, chain.ErrOutOfRange)
	}
	s.next = from
	s.bounds.Unlock()
	if from == next {
		return nil
	}
	b := s.db.NewBatch()
	if err := b.DeleteRange(entryKey(from), entryRangeEnd(), nil); err != nil {
		_ = b.Close()
		return s.failure.fail(op, err)
	}
	return s.commit(op, b)
}

// TruncatePrefix removes the entries with offsets < before, so that
// FirstOffset() becomes before, with one batch that deletes their range
// and persists the new first offset. When before > LastOffset()+1 the log
// becomes empty and the next append takes offset before; this survives a
// restart. A before at or below FirstOffset() changes nothing. The
// removed entries stop being readable when the call starts; under the
// default sync policy the change is on stable storage when it returns
// nil.
//
// It returns an error wrapping chain.ErrClosed after Close, and one
// wrapping ErrFailed after a failure.
func (s *Storage) TruncatePrefix(before uint64) error {
	op := fmt.Sprintf("truncate prefix before %d", before)
	end, err := s.beginLogChange(op)
	if err != nil {
		return err
	}
	defer end()
	s.bounds.Lock()
	if before <= s.first {
		s.bounds.Unlock()
		return nil
	}
	s.first = before
	s.next = max(s.next, before)
	s.bounds.Unlock()
	b := s.db.NewBatch()
	if err := b.DeleteRange(entryKey(0), entryKey(before), nil); err != nil {
		_ = b.Close()
		return s.failure.fail(op, err)
	}
	if err := b.Set([]byte(firstOffsetKey), appendFirstOffset(nil, before), nil); err != nil {
		_ = b.Close()
		return s.failure.fail(op, err)
	}
	return s.commit(op, b)
}
