package master

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// pebbleStore is a raft LogStore and StableStore on Pebble. Every write
// is synced. Keys: 'l' and the big-endian index for log entries, 's' and
// the key for stable values.
type pebbleStore struct {
	db *pebbledb.DB
}

var (
	_ raft.LogStore    = (*pebbleStore)(nil)
	_ raft.StableStore = (*pebbleStore)(nil)
)

// errNotFound is the StableStore's missing-key error: raft recognizes it
// by its text.
var errNotFound = errors.New("not found")

func openPebbleStore(dir string) (*pebbleStore, error) {
	db, err := pebbledb.Open(dir, &pebbledb.Options{Logger: quietPebble{}})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", dir, err)
	}
	return &pebbleStore{db: db}, nil
}

// Close closes the database.
func (s *pebbleStore) Close() error { return s.db.Close() }

func logKey(i uint64) []byte {
	k := make([]byte, 9)
	k[0] = 'l'
	binary.BigEndian.PutUint64(k[1:], i)
	return k
}

func stableKey(k []byte) []byte { return append([]byte{'s'}, k...) }

// bound returns the first or last log index, 0 when the log is empty.
func (s *pebbleStore) bound(last bool) (uint64, error) {
	it, err := s.db.NewIter(&pebbledb.IterOptions{LowerBound: []byte{'l'}, UpperBound: []byte{'m'}})
	if err != nil {
		return 0, err
	}
	ok := it.First()
	if last {
		ok = it.Last()
	}
	var i uint64
	if ok {
		i = binary.BigEndian.Uint64(it.Key()[1:])
	}
	return i, errors.Join(it.Error(), it.Close())
}

// FirstIndex implements raft.LogStore.
func (s *pebbleStore) FirstIndex() (uint64, error) { return s.bound(false) }

// LastIndex implements raft.LogStore.
func (s *pebbleStore) LastIndex() (uint64, error) { return s.bound(true) }

// GetLog implements raft.LogStore.
func (s *pebbleStore) GetLog(index uint64, log *raft.Log) error {
	v, closer, err := s.db.Get(logKey(index))
	if errors.Is(err, pebbledb.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	return json.Unmarshal(v, log)
}

// StoreLog implements raft.LogStore.
func (s *pebbleStore) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs implements raft.LogStore.
func (s *pebbleStore) StoreLogs(logs []*raft.Log) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, l := range logs {
		v, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if err := b.Set(logKey(l.Index), v, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebbledb.Sync)
}

// DeleteRange implements raft.LogStore.
func (s *pebbleStore) DeleteRange(lo, hi uint64) error {
	return s.db.DeleteRange(logKey(lo), logKey(hi+1), pebbledb.Sync)
}

// Set implements raft.StableStore.
func (s *pebbleStore) Set(k, v []byte) error { return s.db.Set(stableKey(k), v, pebbledb.Sync) }

// Get implements raft.StableStore.
func (s *pebbleStore) Get(k []byte) ([]byte, error) {
	v, closer, err := s.db.Get(stableKey(k))
	if errors.Is(err, pebbledb.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetUint64 implements raft.StableStore.
func (s *pebbleStore) SetUint64(k []byte, v uint64) error {
	return s.Set(k, binary.BigEndian.AppendUint64(nil, v))
}

// GetUint64 implements raft.StableStore; a missing key is 0.
func (s *pebbleStore) GetUint64(k []byte) (uint64, error) {
	v, err := s.Get(k)
	if errors.Is(err, errNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raft stable value %q: %d bytes, want 8", k, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// quietPebble drops Pebble's messages; a fatal one panics rather than
// exiting the process.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
