package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/chainrep/chain"
)

// Snapshots live in the subdirectory "snapshots" of the storage's
// directory, one file per snapshot named after its offset
// (snapshot-00000000000000000042), in the format of snapshot_format.go.
//
// A save writes the file under its name with the suffix ".tmp", fsyncs
// it, renames it to its name and fsyncs the directory; only then does
// Commit remove the snapshot it replaces. So the directory always holds
// a whole snapshot that was committed: the old one until the new one's
// rename is durable, and at a crash between the rename and the removal
// both, of which Open keeps the newest. Open removes the temporary files
// a crash left behind.
//
// Snapshots are synced whatever WithSync says: they are written rarely
// and their atomic replacement depends on the fsyncs.
const (
	snapDirName  = "snapshots"
	snapPrefix   = "snapshot-"
	snapTmpSufix = ".tmp"
)

var _ chain.SnapshotStore = (*Storage)(nil)

// snapshotState is the storage's snapshot bookkeeping, guarded by mu.
type snapshotState struct {
	fs  vfs.FS
	dir string

	mu sync.Mutex
	// latest is the newest committed snapshot, nil when there is none.
	latest *snapFile
	// writing is the snapshot being written, nil when there is none.
	writing *snapshotWriter
	// readers are the open readers, closed by Close.
	readers map[*snapshotReader]struct{}
}

// snapFile is a committed snapshot's file and what its header and trailer
// say, or why they could not be read.
type snapFile struct {
	name   string
	offset uint64 // from the name
	info   chain.SnapshotInfo
	header snapHeader
	err    error // wraps chain.ErrCorrupt when the file is damaged
}

// snapName returns the file name of the snapshot at offset.
func snapName(offset uint64) string {
	return fmt.Sprintf("%s%020d", snapPrefix, offset)
}

// parseSnapName returns the offset of a snapshot file name and whether
// name is one; tmp says whether it is a temporary file.
func parseSnapName(name string) (offset uint64, tmp, ok bool) {
	base, tmp := strings.CutSuffix(name, snapTmpSufix)
	digits, found := strings.CutPrefix(base, snapPrefix)
	if !found || len(digits) != 20 {
		return 0, false, false
	}
	offset, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return offset, tmp, true
}

// openSnapshots prepares the snapshot directory under dir: it creates it
// durably if needed, removes temporary files, finds the newest snapshot
// and, when that one is intact, removes older ones.
func (s *Storage) openSnapshots(fs vfs.FS, dir string) error {
	st := &s.snaps
	st.fs, st.dir = fs, fs.PathJoin(dir, snapDirName)
	st.readers = make(map[*snapshotReader]struct{})
	if _, err := fs.Stat(st.dir); err != nil {
		if err := fs.MkdirAll(st.dir, 0o755); err != nil {
			return fmt.Errorf("create snapshot directory: %w", err)
		}
		if err := syncDir(fs, dir); err != nil {
			return fmt.Errorf("create snapshot directory: %w", err)
		}
	}
	names, err := fs.List(st.dir)
	if err != nil {
		return fmt.Errorf("list snapshot directory: %w", err)
	}
	var newest *snapFile
	for _, name := range names {
		offset, tmp, ok := parseSnapName(name)
		switch {
		case !ok:
		case tmp:
			if err := fs.Remove(fs.PathJoin(st.dir, name)); err != nil {
				return fmt.Errorf("remove interrupted snapshot %s: %w", name, err)
			}
		case newest == nil || offset > newest.offset:
			newest = &snapFile{name: name, offset: offset}
		}
	}
	if newest == nil {
		return nil
	}
	f, err := fs.Open(fs.PathJoin(st.dir, newest.name))
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", newest.name, err)
	}
	newest.header, newest.info, newest.err = describeSnapshot(f, newest.offset)
	if err := f.Close(); err != nil {
		return fmt.Errorf("close snapshot %s: %w", newest.name, err)
	}
	if newest.err != nil {
		// Damaged: the older ones are kept until a new snapshot replaces
		// it, and LatestSnapshot and OpenSnapshot report the damage.
		newest.err = fmt.Errorf("snapshot %s: %w", newest.name, newest.err)
	}
	st.latest = newest
	if newest.err == nil {
		s.removeOlderSnapshots(newest.offset)
	}
	return nil
}

// describeSnapshot reads the header and trailer of the snapshot file f,
// whose name says it is at offset, and checks the file's length; errors
// wrap chain.ErrCorrupt when the file is damaged.
func describeSnapshot(f vfs.File, offset uint64) (snapHeader, chain.SnapshotInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return snapHeader{}, chain.SnapshotInfo{}, fmt.Errorf("stat: %w", err)
	}
	length := fi.Size()
	if length < snapHeaderLen+snapTrailerLen {
		return snapHeader{}, chain.SnapshotInfo{}, fmt.Errorf("%w: %d bytes long", chain.ErrCorrupt, length)
	}
	var head [snapHeaderLen]byte
	var tail [snapTrailerLen]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return snapHeader{}, chain.SnapshotInfo{}, fmt.Errorf("read header: %w", err)
	}
	if _, err := f.ReadAt(tail[:], length-snapTrailerLen); err != nil {
		return snapHeader{}, chain.SnapshotInfo{}, fmt.Errorf("read trailer: %w", err)
	}
	h, err := decodeSnapHeader(head[:])
	if err != nil {
		return snapHeader{}, chain.SnapshotInfo{}, err
	}
	if h.offset != offset {
		return snapHeader{}, chain.SnapshotInfo{}, fmt.Errorf("%w: header holds offset %d", chain.ErrCorrupt, h.offset)
	}
	size, err := decodeSnapTrailer(tail[:], headerCRC(head[:]))
	if err != nil {
		return snapHeader{}, chain.SnapshotInfo{}, err
	}
	if want, ok := snapFileLen(size, h.blockSize); !ok || want != length {
		return snapHeader{}, chain.SnapshotInfo{}, fmt.Errorf("%w: %d bytes long for %d bytes of content", chain.ErrCorrupt, length, size)
	}
	return h, chain.SnapshotInfo{Offset: offset, Epoch: h.epoch, Size: int64(size)}, nil
}

// removeOlderSnapshots removes the snapshot files below offset. They are
// no longer needed, so a failure is only logged: the next commit or Open
// tries again.
func (s *Storage) removeOlderSnapshots(offset uint64) {
	st := &s.snaps
	names, err := st.fs.List(st.dir)
	if err != nil {
		s.logger.Warn("cannot list the snapshot directory to remove old snapshots", "err", err)
		return
	}
	for _, name := range names {
		if off, tmp, ok := parseSnapName(name); ok && !tmp && off < offset {
			if err := st.fs.Remove(st.fs.PathJoin(st.dir, name)); err != nil {
				s.logger.Warn("cannot remove an old snapshot", "file", name, "err", err)
			}
		}
	}
}

// syncDir fsyncs directory dir of fs.
func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// closeSnapshots aborts the snapshot being written and closes the open
// readers; s.life must be held for writing. A temporary file it cannot
// remove is removed by the next Open.
func (s *Storage) closeSnapshots() {
	st := &s.snaps
	st.mu.Lock()
	w, readers := st.writing, st.readers
	st.writing, st.readers = nil, nil
	st.mu.Unlock()
	if w != nil {
		w.discard()
	}
	for r := range readers {
		_ = r.f.Close()
		r.f = nil
	}
}

// LatestSnapshot describes the newest committed snapshot; ok is false when
// there is none. It returns an error wrapping chain.ErrCorrupt when the
// newest snapshot's header or trailer was found damaged at Open, and one
// wrapping chain.ErrClosed after Close.
func (s *Storage) LatestSnapshot() (chain.SnapshotInfo, bool, error) {
	if !s.enter() {
		return chain.SnapshotInfo{}, false, closedError("latest snapshot")
	}
	defer s.exit()
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	switch l := s.snaps.latest; {
	case l == nil:
		return chain.SnapshotInfo{}, false, nil
	case l.err != nil:
		return chain.SnapshotInfo{}, false, fmt.Errorf("pebble storage: latest snapshot: %w", l.err)
	default:
		return l.info, true, nil
	}
}

// OpenSnapshot opens the newest committed snapshot for reading. The reader
// holds one block (64 KiB) in memory and checks each block's checksum
// before it returns any of its bytes. It returns an error wrapping
// chain.ErrNoSnapshot when there is none, one wrapping chain.ErrCorrupt
// when the file's header, trailer or length is damaged, and one wrapping
// chain.ErrClosed after Close. The reader goes on reading its snapshot
// after a newer one is committed, until it is closed or the storage is.
func (s *Storage) OpenSnapshot() (chain.SnapshotReader, error) {
	const op = "open snapshot"
	if !s.enter() {
		return nil, closedError(op)
	}
	defer s.exit()
	st := &s.snaps
	st.mu.Lock()
	defer st.mu.Unlock()
	l := st.latest
	switch {
	case l == nil:
		return nil, fmt.Errorf("pebble storage: %s: %w", op, chain.ErrNoSnapshot)
	case l.err != nil:
		return nil, fmt.Errorf("pebble storage: %s: %w", op, l.err)
	}
	f, err := st.fs.Open(st.fs.PathJoin(st.dir, l.name), vfs.SequentialReadsOption)
	if err != nil {
		return nil, fmt.Errorf("pebble storage: %s %s: %w", op, l.name, err)
	}
	// The file is checked again: it may have been damaged since Open.
	h, info, err := describeSnapshot(f, l.offset)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("pebble storage: %s %s: %w", op, l.name, err)
	}
	r := &snapshotReader{
		s: s, f: f, name: l.name, info: info, blockSize: h.blockSize,
		pos: snapHeaderLen, remaining: uint64(info.Size),
	}
	st.readers[r] = struct{}{}
	return r, nil
}

// snapshotReader is the SnapshotReader of OpenSnapshot. It is used by one
// goroutine at a time; Close of the storage closes its file (f becomes
// nil) under s.life held for writing, while Read holds it for reading.
type snapshotReader struct {
	s         *Storage
	f         vfs.File
	name      string
	info      chain.SnapshotInfo
	blockSize uint32
	buf       []byte // the current block, with its checksum
	pending   []byte // the current block's bytes not returned yet
	block     uint64 // index of the next block to read from the file
	pos       int64  // where in the file the next block starts
	remaining uint64 // content bytes not yet read from the file
	err       error  // the error every later Read returns
}

// Info describes the snapshot being read.
func (r *snapshotReader) Info() chain.SnapshotInfo { return r.info }

// Read returns the next bytes of the content, each block once it passed
// its checksum; io.EOF once all of it was returned.
func (r *snapshotReader) Read(p []byte) (int, error) {
	if !r.s.enter() {
		return 0, closedError("read snapshot")
	}
	defer r.s.exit()
	if r.f == nil {
		return 0, fmt.Errorf("pebble storage: read snapshot %s: %w", r.name, chain.ErrClosed)
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.pending) == 0 {
		if r.remaining == 0 {
			return 0, io.EOF
		}
		if err := r.nextBlock(); err != nil {
			r.err = fmt.Errorf("pebble storage: read snapshot %s: %w", r.name, err)
			return 0, r.err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// nextBlock reads and checks the next block.
func (r *snapshotReader) nextBlock() error {
	n := min(uint64(r.blockSize), r.remaining)
	if r.buf == nil {
		r.buf = make([]byte, snapBlockCRCLen+min(uint64(r.blockSize), r.remaining))
	}
	b := r.buf[:snapBlockCRCLen+n]
	if _, err := r.f.ReadAt(b, r.pos); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("block %d: %w: the file ends early", r.block, chain.ErrCorrupt)
		}
		return fmt.Errorf("block %d: %w", r.block, err)
	}
	want := binary.LittleEndian.Uint32(b)
	if got := blockCRC(r.block, b[snapBlockCRCLen:]); got != want {
		return fmt.Errorf("block %d: %w: checksum %#08x, want %#08x", r.block, chain.ErrCorrupt, got, want)
	}
	r.pending = b[snapBlockCRCLen:]
	r.pos += int64(len(b))
	r.remaining -= n
	r.block++
	return nil
}

// Close closes the file. A second Close, or one after the storage's
// Close, returns an error wrapping chain.ErrClosed.
func (r *snapshotReader) Close() error {
	if !r.s.enter() {
		return closedError("close snapshot reader")
	}
	defer r.s.exit()
	if r.f == nil {
		return fmt.Errorf("pebble storage: close snapshot reader %s: %w", r.name, chain.ErrClosed)
	}
	r.s.snaps.mu.Lock()
	delete(r.s.snaps.readers, r)
	r.s.snaps.mu.Unlock()
	err := r.f.Close()
	r.f, r.buf, r.pending = nil, nil, nil
	if err != nil {
		return fmt.Errorf("pebble storage: close snapshot reader %s: %w", r.name, err)
	}
	return nil
}
