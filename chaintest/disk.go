package chaintest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
)

// Errors a Disk's storage returns when a fault is injected.
var (
	// ErrDiskFull is returned by a change made while the disk is full.
	ErrDiskFull = errors.New("chaintest: disk full")
	// ErrSyncFailed is returned by a change whose sync failed: the
	// change may or may not survive a crash.
	ErrSyncFailed = errors.New("chaintest: sync failed")
)

// Disk is a simulated disk for one node, in memory: the storage a node runs
// on (Open) and what of it survives when the node's machine crashes
// (Crash). A change (Append, a truncation, SetMeta) is visible to reads at
// once and becomes durable when its sync completes, SyncLatency later
// (virtual time in a synctest bubble); syncs complete in order, as an
// fsync of a write-ahead log does. A crash keeps every change whose sync
// completed, which includes every change whose call returned, and a
// random prefix of those still syncing. Wipe loses everything, as a
// replaced disk does. Fill and FailSync inject the faults of a full disk
// and of a failed fsync: the storage then fails the change and every later
// one (fail-stop, as storage/pebble does), and keeps serving reads.
//
// A Disk is safe for concurrent use. Create one with NewDisk.
type Disk struct {
	mu      sync.Mutex
	rng     *rand.Rand
	latency time.Duration
	durable *memory.Storage
	keys    map[string]struct{} // metadata keys ever set, to copy the durable state
	pending []diskChange        // visible, not yet synced, in order
	nextID  uint64
	open    *diskStorage // the running incarnation's storage, nil when none
	full    bool
	failing bool // the next change's sync fails
}

// diskChange is one change waiting for its sync.
type diskChange struct {
	id    uint64
	apply func(st chain.Storage) error
}

// NewDisk returns an empty disk whose syncs take up to syncLatency each
// (zero: a change is durable when applied), with its random choices (sync
// latencies, what a crash keeps) drawn from seed.
func NewDisk(seed int64, syncLatency time.Duration) *Disk {
	return &Disk{
		rng:     rand.New(rand.NewPCG(uint64(seed), 0xd15c)),
		latency: syncLatency,
		durable: memory.New(),
		keys:    make(map[string]struct{}),
	}
}

// Open returns the storage of a new incarnation of the node: what the disk
// holds durably. It fails if the disk's last storage is still open.
// Changes still syncing when the last one was closed without a crash
// survive or not as on a crash (a failed sync leaves them undecided).
func (d *Disk) Open() (chain.Storage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open != nil {
		return nil, fmt.Errorf("chaintest: open disk: %w: its storage is open", chain.ErrInvalidArgument)
	}
	d.settleLocked()
	visible, err := copyStorage(d.durable, d.keys)
	if err != nil {
		return nil, fmt.Errorf("chaintest: open disk: %w", err)
	}
	d.open = &diskStorage{disk: d, mem: visible}
	return d.open, nil
}

// Crash models a power loss under the running incarnation: its storage
// goes dead (its later changes reach no disk and report success, as
// nothing is left to report to) and the disk keeps what was synced, plus
// a random prefix of the changes in flight.
func (d *Disk) Crash() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settleLocked()
	if d.open != nil {
		d.open.dead = true
		d.open = nil
	}
}

// Wipe empties the disk, as replacing it does. Call it after Crash or
// once the storage is closed.
func (d *Disk) Wipe() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.durable = memory.New()
	d.pending = nil
	clear(d.keys)
}

// Fill makes every change fail with ErrDiskFull while full is true; the
// storage open then fails stop at its first change.
func (d *Disk) Fill(full bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.full = full
}

// FailSync makes the sync of the next change fail: the change returns
// ErrSyncFailed, may or may not survive a crash, and the storage fails
// every later change.
func (d *Disk) FailSync() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing = true
}

// ClearFaults ends Fill and a FailSync not yet taken. A storage that
// failed stays failed; open the disk again.
func (d *Disk) ClearFaults() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.full, d.failing = false, false
}

// settleLocked decides the fate of the changes in flight: a random prefix
// becomes durable, the rest is lost. d.mu must be held.
func (d *Disk) settleLocked() {
	keep := d.rng.IntN(len(d.pending) + 1)
	for _, c := range d.pending[:keep] {
		_ = c.apply(d.durable) // applied to the visible state first, so it applies here
	}
	d.pending = nil
}

// syncedLocked makes the changes through id durable. d.mu must be held.
func (d *Disk) syncedLocked(id uint64) {
	n := 0
	for n < len(d.pending) && d.pending[n].id <= id {
		_ = d.pending[n].apply(d.durable)
		n++
	}
	d.pending = slices.Delete(d.pending, 0, n)
}

// diskStorage is the chain.Storage of one incarnation on a Disk.
type diskStorage struct {
	disk *Disk
	mem  *memory.Storage // the visible state
	// Guarded by disk.mu.
	dead   bool  // its machine crashed
	failed error // the first failed change: every later one fails
}

var _ chain.Storage = (*diskStorage)(nil)

// change applies a change to the visible state and waits for its sync.
func (s *diskStorage) change(op string, apply func(st chain.Storage) error) error {
	d := s.disk
	d.mu.Lock()
	switch {
	case s.dead:
		d.mu.Unlock()
		return nil
	case s.failed != nil:
		d.mu.Unlock()
		return fmt.Errorf("chaintest: disk: %s: storage failed earlier: %w", op, s.failed)
	case d.full:
		s.failed = ErrDiskFull
		d.mu.Unlock()
		return fmt.Errorf("chaintest: disk: %s: %w", op, ErrDiskFull)
	}
	if err := apply(s.mem); err != nil {
		d.mu.Unlock()
		return err
	}
	d.nextID++
	id := d.nextID
	d.pending = append(d.pending, diskChange{id: id, apply: apply})
	if d.failing {
		d.failing = false
		s.failed = ErrSyncFailed
		d.mu.Unlock()
		return fmt.Errorf("chaintest: disk: %s: %w", op, ErrSyncFailed)
	}
	var wait time.Duration
	if d.latency > 0 {
		wait = time.Duration(d.rng.Int64N(int64(d.latency) + 1))
	}
	if wait == 0 {
		d.syncedLocked(id)
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	time.Sleep(wait) // never with a lock held: it would stop virtual time
	d.mu.Lock()
	if !s.dead {
		d.syncedLocked(id)
	}
	d.mu.Unlock()
	return nil
}

// Append implements chain.Storage.
func (s *diskStorage) Append(entries []chain.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	kept := make([]chain.Entry, len(entries))
	for i, e := range entries {
		e.Data = slices.Clone(e.Data)
		kept[i] = e
	}
	return s.change(fmt.Sprintf("append at %d", entries[0].Offset), func(st chain.Storage) error { return st.Append(kept) })
}

// TruncateSuffix implements chain.Storage.
func (s *diskStorage) TruncateSuffix(from uint64) error {
	return s.change(fmt.Sprintf("truncate suffix from %d", from), func(st chain.Storage) error { return st.TruncateSuffix(from) })
}

// TruncatePrefix implements chain.Storage.
func (s *diskStorage) TruncatePrefix(before uint64) error {
	return s.change(fmt.Sprintf("truncate prefix before %d", before), func(st chain.Storage) error { return st.TruncatePrefix(before) })
}

// SetMeta implements chain.Storage.
func (s *diskStorage) SetMeta(key string, value []byte) error {
	value = slices.Clone(value)
	return s.change(fmt.Sprintf("set meta %q", key), func(st chain.Storage) error {
		if err := st.SetMeta(key, value); err != nil {
			return err
		}
		s.disk.keys[key] = struct{}{} // d.mu is held by every caller of apply
		return nil
	})
}

// Entries implements chain.Storage.
func (s *diskStorage) Entries(from, to uint64, maxBytes int) ([]chain.Entry, error) {
	return s.mem.Entries(from, to, maxBytes)
}

// FirstOffset implements chain.Storage.
func (s *diskStorage) FirstOffset() uint64 { return s.mem.FirstOffset() }

// LastOffset implements chain.Storage.
func (s *diskStorage) LastOffset() uint64 { return s.mem.LastOffset() }

// Meta implements chain.Storage.
func (s *diskStorage) Meta(key string) ([]byte, bool, error) { return s.mem.Meta(key) }

// Close implements chain.Storage. The disk keeps what was synced; Open
// opens it again.
func (s *diskStorage) Close() error {
	d := s.disk
	d.mu.Lock()
	if d.open == s {
		d.open = nil
	}
	d.mu.Unlock()
	return s.mem.Close()
}

// copyStorage returns a new memory storage holding what src holds: its
// entries from its first offset and the metadata under keys.
func copyStorage(src *memory.Storage, keys map[string]struct{}) (*memory.Storage, error) {
	dst := memory.New()
	first, last := src.FirstOffset(), src.LastOffset()
	if err := dst.TruncatePrefix(first); err != nil {
		return nil, err
	}
	for from := first; from <= last; {
		ents, err := src.Entries(from, last+1, 1<<20)
		if err != nil {
			return nil, err
		}
		if err := dst.Append(ents); err != nil {
			return nil, err
		}
		from += uint64(len(ents))
	}
	for k := range keys {
		v, ok, err := src.Meta(k)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := dst.SetMeta(k, v); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}
