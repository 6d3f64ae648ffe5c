package kv

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"sync"
)

// MaxKeyLen is the longest key, in bytes. Keys are non-empty.
const MaxKeyLen = 1024

// checkKey reports why key is not a valid key, or nil.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("key of %d bytes exceeds %d", len(key), MaxKeyLen)
	}
	return nil
}

// Store is the replicated state machine: a map from string keys to byte
// values. Register it on one node; each node of a chain needs its own
// Store, and since every node applies the same commands in the same order,
// every Store holds the same data once it has applied the same prefix of
// the log.
//
// The node already runs command handlers one at a time and never during a
// query, but Store does not rely on that: a sync.RWMutex guards the map, so
// every method is safe for concurrent use (the uncontended lock is cheap).
// Store never shares memory with its callers: it copies values in and out.
//
// The zero value is not usable; create a Store with New.
type Store struct {
	mu   sync.RWMutex
	data map[string][]byte
}

// New returns an empty Store.
func New() *Store {
	return &Store{data: make(map[string][]byte)}
}

// Put sets key to a copy of value. A nil value is stored as an empty one.
func (s *Store) Put(key string, value []byte) {
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = v
}

// Get returns a copy of key's value and whether key is present.
func (s *Store) Get(key string) (value []byte, found bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	return bytes.Clone(v), ok
}

// Delete removes key and reports whether it was present.
func (s *Store) Delete(key string) (existed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, existed = s.data[key]
	delete(s.data, key)
	return existed
}

// CompareAndSet sets key to a copy of value if and only if key's presence
// equals expectedFound and, when it is present, its value equals expected
// (expected is ignored when expectedFound is false). It reports whether it
// set the value. With expectedFound false it is a put-if-absent.
func (s *Store) CompareAndSet(key string, expected []byte, expectedFound bool, value []byte) (swapped bool) {
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, found := s.data[key]
	if found != expectedFound || (found && !bytes.Equal(cur, expected)) {
		return false
	}
	s.data[key] = v
	return true
}

// Len returns the number of keys.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.data)
}

// Snapshot returns a deep copy of the store's contents.
func (s *Store) Snapshot() map[string][]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := maps.Clone(s.data)
	for k, v := range out {
		out[k] = bytes.Clone(v)
	}
	return out
}
