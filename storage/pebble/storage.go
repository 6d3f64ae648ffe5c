// Package pebble provides a durable chain.Storage on the Pebble key-value
// store (github.com/cockroachdb/pebble/v2).
//
// Each entry is one Pebble key, its offset in big-endian after a one-byte
// prefix, so entries sort by offset; its value is a compact binary record
// protected by a CRC-32C checksum (see codec.go). The first offset lives in
// its own key range. Every change is one Pebble batch, synced to stable
// storage before the call returns unless WithSync(false) is given.
//
// # Metadata
//
// SetMeta values live in a second, small Pebble database in the
// subdirectory "meta". Kept out of the log's database, they leave its key
// space append-only: each memtable flush then makes a table of entries that
// overlaps no other, which Pebble moves down the levels without rewriting
// it. A node saves its commit point every 100 ms; when that key was in the
// same database, every flushed table overlapped every other and Pebble
// rewrote the whole log in compactions, which took about a third of the CPU
// of a loaded 3-node chain and tripled its p99 latency.
//
// # Group commit
//
// Concurrent changes share fsyncs without any help from this package.
// Pebble's commit pipeline (commit.go, record/log_writer.go in Pebble)
// writes each batch into the write-ahead log's in-memory block under a
// short mutex and, for a syncing commit, queues a sync request; a single
// flush goroutine repeatedly takes every queued request, writes all
// pending log data, calls fsync once and wakes every waiter of that
// round. So while one fsync runs, the SetMeta and Append calls that
// arrive queue up behind it and are all made durable by the next one.
// This package therefore never holds a lock across a commit that would
// keep SetMeta from committing alongside Append.
//
// # Snapshots
//
// Storage is also a chain.SnapshotStore. Snapshots are files in the
// subdirectory "snapshots", beside the databases, streamed through a
// 64 KiB buffer and cut into blocks that each carry a CRC-32C (see
// snapshot_format.go). A save goes to a temporary file that is fsynced,
// renamed into place and made durable by an fsync of the directory before
// the snapshot it replaces is removed, so a crash at any point leaves the
// old snapshot or the new one, whole (see snapshot.go). Open removes what
// an interrupted save left behind and keeps the newest snapshot; when the
// newest one's header or trailer is damaged, LatestSnapshot and
// OpenSnapshot report it with an error wrapping chain.ErrCorrupt rather
// than fall back on an older one.
//
// # Failures
//
// The storage is fail-stop: after a write or sync error every later
// change returns an error wrapping ErrFailed and the first error, since a
// failed fsync cannot be retried as if nothing had happened. Reads go on
// serving the entries acknowledged before the failure. Records that fail
// their checksum are reported as errors wrapping ErrCorrupt that name the
// offset or key.
package pebble

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/chainrep/chain"
)

// Storage is a chain.Storage kept in a Pebble database. It is safe for
// concurrent use: reads run in parallel with each other and with
// changes; Append, TruncateSuffix and TruncatePrefix run one at a time;
// SetMeta runs alongside them and shares their fsyncs.
//
// Create one with Open; the zero value is not usable. After Close,
// FirstOffset, LastOffset and Stats keep returning their values at Close
// and every other method returns an error wrapping chain.ErrClosed.
type Storage struct {
	db        *pebbledb.DB // the log: entries and the first offset
	meta      *pebbledb.DB // SetMeta values
	writeOpts *pebbledb.WriteOptions
	failure   *failure
	// fsCloser stops the disk health checks on the default file system;
	// nil with WithFS.
	fsCloser io.Closer

	// life is held for reading by every call that uses db and for
	// writing by Close, so Close waits for calls in progress and no call
	// uses a closed db. closed is guarded by life.
	life   sync.RWMutex
	closed bool

	// logMu serializes the changes to the log: Append, TruncateSuffix and
	// TruncatePrefix.
	logMu sync.Mutex

	// bounds guards first and next, the held range [first, next). It is
	// held for writing only to update them, never across a commit. The
	// range they describe is always held in db: an append updates them
	// after its batch is committed, a truncation before its batch is. So
	// an iterator created under the read lock (a snapshot) holds every
	// entry of the range, whatever changes follow.
	bounds      sync.RWMutex
	first, next uint64

	// snaps is the snapshot store's state; see snapshot.go.
	snaps snapshotState
	// logger takes the warnings of the snapshot store.
	logger *slog.Logger

	appended atomic.Uint64
	// final holds the statistics taken at Close.
	final Stats
}

var _ chain.Storage = (*Storage)(nil)

// Open opens the storage kept in directory dir, creating it if needed,
// and recovers the held range from what is stored. It fails with an error
// wrapping ErrCorrupt when the first or last entry or the first-offset
// record is corrupt, and with one wrapping chain.ErrInvalidConfig when an
// option is unusable. Only one Storage may have dir open at a time.
func Open(dir string, opts ...Option) (*Storage, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("pebble storage: open %q: %w", dir, err)
	}
	if dir == "" {
		return nil, fmt.Errorf("pebble storage: open: %w: empty directory name", chain.ErrInvalidConfig)
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Storage{writeOpts: pebbledb.NoSync, failure: &failure{}, logger: logger}
	if cfg.sync {
		s.writeOpts = pebbledb.Sync
	}
	cache := pebbledb.NewCache(cfg.cacheSize)
	defer cache.Unref() // the database holds its own reference
	popts := &pebbledb.Options{
		Cache:              cache,
		FormatMajorVersion: pebbledb.FormatNewest,
		Logger:             pebbleLogger{log: logger, failure: s.failure},
		MemTableSize:       cfg.memTableSize,
	}
	if cfg.fsSet {
		popts.FS = cfg.fs
	} else {
		// Pebble would wrap the default file system like this itself, but
		// it closes the wrapper (and its goroutine) only in DB.Close, so a
		// failed Open would leak it.
		popts.FS, s.fsCloser = vfs.WithDiskHealthChecks(vfs.Default, diskSlowThreshold, nil,
			func(info vfs.DiskSlowInfo) {
				logger.Warn("slow disk operation", "component", "pebble", "info", info.String())
			})
	}
	db, err := pebbledb.Open(dir, popts)
	if err == nil {
		s.db = db
		s.meta, err = pebbledb.Open(popts.FS.PathJoin(dir, metaDir), &pebbledb.Options{
			Cache:              cache,
			FormatMajorVersion: popts.FormatMajorVersion,
			Logger:             popts.Logger,
			MemTableSize:       metaMemTableSize,
			FS:                 popts.FS,
		})
	}
	if err == nil {
		err = s.failure.err()
		if err == nil {
			s.first, s.next, err = recoverBounds(db)
		}
		if err == nil {
			err = s.openSnapshots(popts.FS, dir)
		}
	}
	if err != nil {
		_ = s.release()
		return nil, fmt.Errorf("pebble storage: open %q: %w", dir, err)
	}
	return s, nil
}

// diskSlowThreshold is how long a disk operation may take before it is
// logged as slow; it is Pebble's default.
const diskSlowThreshold = 5 * time.Second

// metaDir is the subdirectory of the metadata database.
const metaDir = "meta"

// metaMemTableSize is the metadata database's memtable size: it holds a
// few small values.
const metaMemTableSize = 256 << 10

// release closes the databases that are open and the file system wrapper,
// if any, and returns the first error.
func (s *Storage) release() error {
	var err error
	if s.meta != nil {
		err = s.meta.Close()
	}
	if s.db != nil {
		if closeErr := s.db.Close(); err == nil {
			err = closeErr
		}
	}
	if s.fsCloser != nil {
		if closeErr := s.fsCloser.Close(); err == nil {
			err = closeErr
		}
	}
	return err
}

// FirstOffset returns the lowest offset held, or LastOffset()+1 when the
// log is empty. After Close it keeps returning the value it had at Close.
func (s *Storage) FirstOffset() uint64 {
	s.bounds.RLock()
	defer s.bounds.RUnlock()
	return s.first
}

// LastOffset returns the highest offset held, or the offset just below the
// next append when the log is empty. After Close it keeps returning the
// value it had at Close.
func (s *Storage) LastOffset() uint64 {
	s.bounds.RLock()
	defer s.bounds.RUnlock()
	return s.next - 1
}

// Stats are cumulative counts of the work a Storage did since Open.
type Stats struct {
	// EntriesAppended counts the entries of the Append calls that
	// returned nil.
	EntriesAppended uint64
	// WALBytesWritten counts the bytes written to Pebble's write-ahead
	// log, framing included.
	WALBytesWritten uint64
	// TableBytesWritten counts the bytes written to Pebble's table and
	// blob files by flushes and compactions.
	TableBytesWritten uint64
}

// Stats returns the counts so far; after Close, the counts at Close.
func (s *Storage) Stats() Stats {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return s.final
	}
	return s.statsLocked()
}

// statsLocked reads the counts; s.life must be held and s open.
func (s *Storage) statsLocked() Stats {
	st := Stats{EntriesAppended: s.appended.Load()}
	for _, db := range []*pebbledb.DB{s.db, s.meta} {
		m := db.Metrics()
		st.WALBytesWritten += m.WAL.BytesWritten
		for i := range m.Levels {
			l := &m.Levels[i]
			st.TableBytesWritten += l.TableBytesFlushed + l.TableBytesCompacted + l.BlobBytesFlushed + l.BlobBytesCompacted
		}
	}
	return st
}

// Close waits for the calls in progress and closes the database. It
// returns the error Pebble reports on closing, if any (after a failure it
// usually reports that failure again). A second Close returns an error
// wrapping chain.ErrClosed.
func (s *Storage) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return fmt.Errorf("pebble storage: close: %w", chain.ErrClosed)
	}
	s.closed = true
	s.final = s.statsLocked()
	s.closeSnapshots()
	if err := s.release(); err != nil {
		return fmt.Errorf("pebble storage: close: %w", err)
	}
	return nil
}

// enter starts a call that uses the database and reports whether the
// storage is open; only then must the call end with exit.
func (s *Storage) enter() bool {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return false
	}
	return true
}

// exit ends a call started by enter.
func (s *Storage) exit() { s.life.RUnlock() }

// closedError returns the error of operation op after Close.
func closedError(op string) error {
	return fmt.Errorf("pebble storage: %s: %w", op, chain.ErrClosed)
}

// commit commits b with the storage's sync policy and closes it. Any
// error, or a failure that Pebble reported through its logger while the
// batch was committed, fails the storage; the returned error names op and
// wraps ErrFailed.
func (s *Storage) commit(op string, b *pebbledb.Batch) error {
	err := b.Commit(s.writeOpts)
	if closeErr := b.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		// Pebble reports a failed WAL write or sync of this batch through
		// Logger.Fatalf and then returns nil; see pebbleLogger.
		err = s.failure.err()
	}
	if err != nil {
		return s.failure.fail(op, err)
	}
	return nil
}
