package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/chainrep/chain"
)

// CreateSnapshot starts writing the snapshot at offset, whose entry at
// offset has epoch epoch, to a temporary file in the snapshot directory;
// the writer holds one block (64 KiB) in memory. It returns an error
// wrapping chain.ErrStaleSnapshot when offset is not above the newest
// snapshot's (a damaged newest one's included), one wrapping
// chain.ErrSnapshotInProgress while another writer is open, one wrapping
// ErrFailed after a failure and one wrapping chain.ErrClosed after Close.
func (s *Storage) CreateSnapshot(offset, epoch uint64) (chain.SnapshotWriter, error) {
	op := fmt.Sprintf("create snapshot at %d", offset)
	if !s.enter() {
		return nil, closedError(op)
	}
	defer s.exit()
	if err := s.failure.check(op); err != nil {
		return nil, err
	}
	st := &s.snaps
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.writing != nil:
		return nil, fmt.Errorf("pebble storage: %s: %w: one at %d is being written",
			op, chain.ErrSnapshotInProgress, st.writing.info.Offset)
	case st.latest != nil && offset <= st.latest.offset:
		return nil, fmt.Errorf("pebble storage: %s: %w: the newest is at %d", op, chain.ErrStaleSnapshot, st.latest.offset)
	}
	name := snapName(offset)
	w := &snapshotWriter{
		s:    s,
		info: chain.SnapshotInfo{Offset: offset, Epoch: epoch},
		name: name,
		tmp:  st.fs.PathJoin(st.dir, name+snapTmpSufix),
		buf:  make([]byte, snapBlockCRCLen, snapBlockCRCLen+defaultBlockSize),
	}
	f, err := st.fs.Create(w.tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("pebble storage: %s: %w", op, err)
	}
	w.f = f
	header := appendSnapHeader(nil, snapHeader{blockSize: defaultBlockSize, offset: offset, epoch: epoch})
	w.hcrc = headerCRC(header)
	if _, err := f.Write(header); err != nil {
		w.discard()
		return nil, fmt.Errorf("pebble storage: %s: write header: %w", op, err)
	}
	st.writing = w
	return w, nil
}

// snapshotWriter is the SnapshotWriter of CreateSnapshot. It is used by
// one goroutine at a time; Close of the storage discards it (f becomes
// nil) under s.life held for writing, while Write and Commit hold it for
// reading.
type snapshotWriter struct {
	s    *Storage
	info chain.SnapshotInfo
	name string // the snapshot's file name once committed
	tmp  string // the temporary file's path
	f    vfs.File
	hcrc uint32 // the header's checksum
	// buf holds the current block's checksum space and its bytes so far.
	buf   []byte
	block uint64 // the current block's index
	size  uint64 // content bytes written so far
	err   error  // the error every later Write and Commit return
}

// Write appends p to the content, writing each block as it fills.
func (w *snapshotWriter) Write(p []byte) (int, error) {
	op := fmt.Sprintf("write snapshot at %d", w.info.Offset)
	if !w.s.enter() {
		return 0, closedError(op)
	}
	defer w.s.exit()
	if err := w.usable(op); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
		w.size += uint64(n)
		if len(w.buf) == cap(w.buf) {
			if err := w.flushBlock(); err != nil {
				w.fail(op, err)
				return written - n, w.err
			}
		}
	}
	return written, nil
}

// usable returns nil if w may go on writing, or the error that says why
// not.
func (w *snapshotWriter) usable(op string) error {
	switch {
	case w.err != nil:
		return w.err
	case w.f == nil:
		return fmt.Errorf("pebble storage: %s: %w", op, chain.ErrClosed)
	}
	return nil
}

// fail discards the snapshot after err and makes every later call return
// an error of op wrapping it.
func (w *snapshotWriter) fail(op string, err error) {
	w.discard()
	w.err = fmt.Errorf("pebble storage: %s: %w", op, err)
}

// flushBlock writes the current block, if it holds any bytes.
func (w *snapshotWriter) flushBlock() error {
	if len(w.buf) == snapBlockCRCLen {
		return nil
	}
	binary.LittleEndian.PutUint32(w.buf, blockCRC(w.block, w.buf[snapBlockCRCLen:]))
	if _, err := w.f.Write(w.buf); err != nil {
		return fmt.Errorf("write block %d: %w", w.block, err)
	}
	w.block++
	w.buf = w.buf[:snapBlockCRCLen]
	return nil
}

// Commit writes the last block and the trailer, fsyncs the file, renames
// it into place, fsyncs the directory and then removes the snapshot it
// replaces. Until the rename, a failure discards the new snapshot and
// leaves the old one in place; a failed fsync of the directory after it
// fails the storage (every later change returns an error wrapping
// ErrFailed), as the directory may then hold either snapshot after a
// crash.
func (w *snapshotWriter) Commit() error {
	op := fmt.Sprintf("commit snapshot at %d", w.info.Offset)
	if !w.s.enter() {
		return closedError(op)
	}
	defer w.s.exit()
	if err := w.usable(op); err != nil {
		return err
	}
	if err := w.s.failure.check(op); err != nil {
		w.discard()
		return err
	}
	if err := w.finishFile(); err != nil {
		w.fail(op, err)
		return w.err
	}
	st := &w.s.snaps
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.latest != nil && w.info.Offset <= st.latest.offset {
		w.discardLocked()
		return fmt.Errorf("pebble storage: %s: %w: the newest is at %d", op, chain.ErrStaleSnapshot, st.latest.offset)
	}
	if err := st.fs.Rename(w.tmp, st.fs.PathJoin(st.dir, w.name)); err != nil {
		w.discardLocked()
		return fmt.Errorf("pebble storage: %s: rename: %w", op, err)
	}
	st.writing, w.tmp = nil, ""
	w.err = fmt.Errorf("pebble storage: %s: %w: committed", op, chain.ErrClosed)
	if err := syncDir(st.fs, st.dir); err != nil {
		return w.s.failure.fail(op, err)
	}
	w.info.Size = int64(w.size)
	st.latest = &snapFile{
		name: w.name, offset: w.info.Offset, info: w.info,
		header: snapHeader{blockSize: defaultBlockSize, offset: w.info.Offset, epoch: w.info.Epoch},
	}
	w.s.removeOlderSnapshots(w.info.Offset)
	return nil
}

// finishFile writes the last block and the trailer, fsyncs the file and
// closes it.
func (w *snapshotWriter) finishFile() error {
	if err := w.flushBlock(); err != nil {
		return err
	}
	w.buf = appendSnapTrailer(w.buf[:0], w.hcrc, w.size)
	if _, err := w.f.Write(w.buf); err != nil {
		return fmt.Errorf("write trailer: %w", err)
	}
	w.buf = nil
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// Abort discards the snapshot: it closes and removes the temporary file.
// After Commit or Abort, or after the storage's Close (which aborted
// it), it does nothing.
func (w *snapshotWriter) Abort() error {
	if !w.s.enter() {
		return nil
	}
	defer w.s.exit()
	if w.err == nil {
		w.err = fmt.Errorf("pebble storage: snapshot at %d: %w: aborted", w.info.Offset, chain.ErrClosed)
	}
	w.discard()
	return nil
}

// discard closes and removes the temporary file and ends w as the
// storage's writer. A temporary file it cannot remove is removed by the
// next Open.
func (w *snapshotWriter) discard() {
	w.s.snaps.mu.Lock()
	defer w.s.snaps.mu.Unlock()
	w.discardLocked()
}

// discardLocked is discard with s.snaps.mu held.
func (w *snapshotWriter) discardLocked() {
	st := &w.s.snaps
	if st.writing == w {
		st.writing = nil
	}
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if w.tmp != "" {
		if err := st.fs.Remove(w.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.s.logger.Warn("cannot remove an abandoned snapshot file", "file", w.tmp, "err", err)
		}
		w.tmp = ""
	}
	w.buf = nil
	if w.err == nil {
		w.err = fmt.Errorf("pebble storage: snapshot at %d: %w: discarded", w.info.Offset, chain.ErrClosed)
	}
}
