package memory

import (
	"fmt"
	"hash/crc32"
	"io"

	"github.com/chainrep/chain"
)

var _ chain.SnapshotStore = (*Storage)(nil)

// crcTable is the CRC-32C table of the snapshots' checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// snapshot is a committed snapshot. It is never changed once committed,
// so readers share it without a lock.
type snapshot struct {
	info chain.SnapshotInfo
	data []byte
	crc  uint32 // CRC-32C of data, taken at Commit
}

// CreateSnapshot starts writing a snapshot taken at offset, whose entry
// at offset has epoch epoch; its content is kept in memory. It returns an
// error wrapping chain.ErrStaleSnapshot when offset is not above the
// newest committed snapshot's, one wrapping chain.ErrSnapshotInProgress
// while another writer is open, and one wrapping chain.ErrClosed after
// Close.
func (s *Storage) CreateSnapshot(offset, epoch uint64) (chain.SnapshotWriter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createCheckLocked(offset); err != nil {
		return nil, fmt.Errorf("memory storage: create snapshot at %d: %w", offset, err)
	}
	w := &snapshotWriter{s: s, info: chain.SnapshotInfo{Offset: offset, Epoch: epoch}}
	s.writing = w
	return w, nil
}

// createCheckLocked says why a snapshot at offset cannot be started, if
// it cannot; s.mu must be held.
func (s *Storage) createCheckLocked(offset uint64) error {
	switch {
	case s.closed:
		return chain.ErrClosed
	case s.writing != nil:
		return fmt.Errorf("%w: one at %d is being written", chain.ErrSnapshotInProgress, s.writing.info.Offset)
	}
	return s.staleCheckLocked(offset)
}

// staleCheckLocked returns an error wrapping chain.ErrStaleSnapshot when
// a snapshot at offset would not replace the newest; s.mu must be held.
func (s *Storage) staleCheckLocked(offset uint64) error {
	if s.snap != nil && offset <= s.snap.info.Offset {
		return fmt.Errorf("%w: the newest is at %d", chain.ErrStaleSnapshot, s.snap.info.Offset)
	}
	return nil
}

// LatestSnapshot describes the newest committed snapshot; ok is false when
// there is none. After Close it returns an error wrapping chain.ErrClosed.
func (s *Storage) LatestSnapshot() (chain.SnapshotInfo, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return chain.SnapshotInfo{}, false, fmt.Errorf("memory storage: latest snapshot: %w", chain.ErrClosed)
	}
	if s.snap == nil {
		return chain.SnapshotInfo{}, false, nil
	}
	return s.snap.info, true, nil
}

// OpenSnapshot opens the newest committed snapshot, after checking its
// content against the checksum taken at Commit: damage reads as an error
// wrapping chain.ErrCorrupt. It returns an error wrapping
// chain.ErrNoSnapshot when there is none and one wrapping chain.ErrClosed
// after Close.
func (s *Storage) OpenSnapshot() (chain.SnapshotReader, error) {
	s.mu.RLock()
	snap, closed := s.snap, s.closed
	s.mu.RUnlock()
	switch {
	case closed:
		return nil, fmt.Errorf("memory storage: open snapshot: %w", chain.ErrClosed)
	case snap == nil:
		return nil, fmt.Errorf("memory storage: open snapshot: %w", chain.ErrNoSnapshot)
	}
	if got := crc32.Checksum(snap.data, crcTable); got != snap.crc {
		return nil, fmt.Errorf("memory storage: open snapshot at %d: %w: checksum %#08x, want %#08x",
			snap.info.Offset, chain.ErrCorrupt, got, snap.crc)
	}
	return &snapshotReader{s: s, snap: snap}, nil
}

// snapshotWriter is the SnapshotWriter of CreateSnapshot. Its fields
// other than s are used only by the writer's goroutine; whether it is
// still the storage's writer is s.writing, guarded by s.mu.
type snapshotWriter struct {
	s    *Storage
	info chain.SnapshotInfo
	data []byte
	done bool
}

// currentLocked returns nil if w may go on writing, or why it may not; s.mu
// must be held.
func (w *snapshotWriter) currentLocked() error {
	switch {
	case w.s.closed || w.done:
		return chain.ErrClosed
	case w.s.writing != w:
		return fmt.Errorf("%w: the writer was ended", chain.ErrClosed)
	}
	return nil
}

// Write appends a copy of p to the content.
func (w *snapshotWriter) Write(p []byte) (int, error) {
	w.s.mu.RLock()
	err := w.currentLocked()
	w.s.mu.RUnlock()
	if err != nil {
		return 0, fmt.Errorf("memory storage: write snapshot at %d: %w", w.info.Offset, err)
	}
	w.data = append(w.data, p...)
	return len(p), nil
}

// Commit makes the content the newest snapshot and drops the one it
// replaces.
func (w *snapshotWriter) Commit() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	err := w.currentLocked()
	if err == nil {
		w.done = true
		w.s.writing = nil
		err = w.s.staleCheckLocked(w.info.Offset)
	}
	if err != nil {
		w.data = nil
		return fmt.Errorf("memory storage: commit snapshot at %d: %w", w.info.Offset, err)
	}
	w.info.Size = int64(len(w.data))
	w.s.snap = &snapshot{info: w.info, data: w.data, crc: crc32.Checksum(w.data, crcTable)}
	w.data = nil
	return nil
}

// Abort discards the content. After Commit or Abort it does nothing.
func (w *snapshotWriter) Abort() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.writing == w {
		w.s.writing = nil
	}
	w.done = true
	w.data = nil
	return nil
}

// snapshotReader is the SnapshotReader of OpenSnapshot.
type snapshotReader struct {
	s      *Storage
	snap   *snapshot
	read   int
	closed bool
}

// Info describes the snapshot being read.
func (r *snapshotReader) Info() chain.SnapshotInfo { return r.snap.info }

// Read copies the next bytes of the content into p.
func (r *snapshotReader) Read(p []byte) (int, error) {
	r.s.mu.RLock()
	closed := r.s.closed
	r.s.mu.RUnlock()
	if closed || r.closed {
		return 0, fmt.Errorf("memory storage: read snapshot at %d: %w", r.snap.info.Offset, chain.ErrClosed)
	}
	if r.read == len(r.snap.data) {
		return 0, io.EOF
	}
	n := copy(p, r.snap.data[r.read:])
	r.read += n
	return n, nil
}

// Close ends the reader; a second Close returns an error wrapping
// chain.ErrClosed.
func (r *snapshotReader) Close() error {
	if r.closed {
		return fmt.Errorf("memory storage: close snapshot reader: %w", chain.ErrClosed)
	}
	r.closed = true
	return nil
}
