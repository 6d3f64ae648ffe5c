package pebble

import (
	"errors"
	"fmt"

	pebbledb "github.com/cockroachdb/pebble/v2"
)

// recoverBounds returns the held range [first, next) of the log stored in
// db. first is the persisted first offset (1 when TruncatePrefix never
// moved it); next is one past the highest entry key, or first when there
// are no entries. The lowest and highest entries are decoded and checked:
// they must be intact, hold their own offsets, and the lowest must be at
// first. Errors wrap ErrCorrupt when what is stored is inconsistent.
func recoverBounds(db *pebbledb.DB) (first, next uint64, err error) {
	first, err = readFirstOffset(db)
	if err != nil {
		return 0, 0, err
	}
	iter, err := db.NewIter(&pebbledb.IterOptions{LowerBound: entryKey(0), UpperBound: entryRangeEnd()})
	if err != nil {
		return 0, 0, fmt.Errorf("recover log bounds: %w", err)
	}
	defer func() {
		if closeErr := iter.Close(); err == nil && closeErr != nil {
			err = fmt.Errorf("recover log bounds: %w", closeErr)
		}
	}()
	if !iter.Last() {
		if err := iter.Error(); err != nil {
			return 0, 0, fmt.Errorf("recover log bounds: %w", err)
		}
		return first, first, nil // no entries
	}
	last, err := checkEntryAt(iter)
	if err != nil {
		return 0, 0, fmt.Errorf("recover log bounds: last %w", err)
	}
	if !iter.First() {
		return 0, 0, fmt.Errorf("recover log bounds: entry %d vanished: %w", last, iter.Error())
	}
	lowest, err := checkEntryAt(iter)
	if err != nil {
		return 0, 0, fmt.Errorf("recover log bounds: first %w", err)
	}
	if lowest != first {
		return 0, 0, fmt.Errorf("recover log bounds: %w: lowest entry is at offset %d, but the first offset is %d",
			ErrCorrupt, lowest, first)
	}
	return first, last + 1, nil
}

// readFirstOffset returns the persisted first offset, or 1 when none is
// stored.
func readFirstOffset(db *pebbledb.DB) (uint64, error) {
	rec, closer, err := db.Get([]byte(firstOffsetKey))
	if errors.Is(err, pebbledb.ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read first offset: %w", err)
	}
	first, err := decodeFirstOffset(rec)
	if closeErr := closer.Close(); err == nil && closeErr != nil {
		return 0, fmt.Errorf("read first offset: %w", closeErr)
	}
	if err != nil {
		return 0, fmt.Errorf("read first offset: %w", err)
	}
	return first, nil
}

// checkEntryAt decodes the entry at iter's position and returns its
// offset. The error names the offset (as "entry at offset N: ...").
func checkEntryAt(iter *pebbledb.Iterator) (uint64, error) {
	off, err := parseEntryKey(iter.Key())
	if err != nil {
		return 0, fmt.Errorf("entry: %w", err)
	}
	rec, err := iter.ValueAndErr()
	if err != nil {
		return 0, readError(off, err)
	}
	if _, err := decodeEntryAt(rec, off, nil); err != nil {
		return 0, err
	}
	return off, nil
}
