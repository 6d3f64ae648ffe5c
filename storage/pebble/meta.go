package pebble

import (
	"errors"
	"fmt"

	pebbledb "github.com/cockroachdb/pebble/v2"

	"github.com/chainrep/chain"
)

// SetMeta stores a copy of value under key, replacing any earlier value,
// as one batch of the metadata database; under the default sync policy it
// is on stable storage when SetMeta returns nil. It may run concurrently
// with Append and the truncations, and concurrent SetMeta calls share
// fsyncs. An empty or nil value is stored as present. key must not be
// empty; otherwise it returns an error wrapping chain.ErrInvalidArgument.
//
// It returns an error wrapping chain.ErrClosed after Close, and one
// wrapping ErrFailed after a failure.
func (s *Storage) SetMeta(key string, value []byte) error {
	op := fmt.Sprintf("set meta %q", key)
	if !s.enter() {
		return closedError(op)
	}
	defer s.exit()
	if err := s.failure.check(op); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("pebble storage: set meta: %w: empty key", chain.ErrInvalidArgument)
	}
	b := s.meta.NewBatch()
	if err := b.Set(metaKey(key), appendMeta(nil, value), nil); err != nil {
		_ = b.Close()
		return s.failure.fail(op, err)
	}
	return s.commit(op, b)
}

// Meta returns a copy of the value stored under key and whether there is
// one. A value that fails its checksum is reported as an error wrapping
// ErrCorrupt that names the key. It returns an error wrapping
// chain.ErrClosed after Close. It keeps working after a failure.
func (s *Storage) Meta(key string) (value []byte, ok bool, err error) {
	if !s.enter() {
		return nil, false, closedError(fmt.Sprintf("meta %q", key))
	}
	defer s.exit()
	rec, closer, err := s.meta.Get(metaKey(key))
	if errors.Is(err, pebbledb.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		if errors.Is(err, pebbledb.ErrCorruption) {
			return nil, false, fmt.Errorf("pebble storage: meta %q: %w: %w", key, ErrCorrupt, err)
		}
		return nil, false, fmt.Errorf("pebble storage: meta %q: %w", key, err)
	}
	value, err = decodeMeta(rec)
	if closeErr := closer.Close(); err == nil && closeErr != nil {
		err = closeErr
	}
	if err != nil {
		return nil, false, fmt.Errorf("pebble storage: meta %q: %w", key, err)
	}
	return value, true, nil
}
