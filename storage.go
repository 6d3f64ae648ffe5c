package chain

import "io"

// Storage keeps a node's log entries and a little metadata. Offsets held are
// always a dense range [FirstOffset, LastOffset]; the range is empty when
// FirstOffset == LastOffset+1. A new storage holds nothing and has
// FirstOffset 1 and LastOffset 0.
//
// Implementations must be safe for concurrent use; the node calls Append,
// TruncateSuffix and TruncatePrefix from one goroutine at a time, and reads
// from several. When Append, TruncateSuffix, TruncatePrefix or SetMeta
// returns nil, the change is as durable as the implementation promises (a
// durable storage under its default policy has it on stable storage).
// Package storage/storagetest checks an implementation against this contract.
type Storage interface {
	// Append adds entries at the end of the log. entries[i].Offset must be
	// LastOffset()+1+i; otherwise Append returns an error wrapping
	// ErrNotDense and changes nothing. Append does not retain entries or
	// their Data after it returns.
	Append(entries []Entry) error
	// Entries returns the entries with offsets in [from, to), in order,
	// stopping early once their total Size() reaches maxBytes (at least one
	// entry is returned if any is in range). It returns an error wrapping
	// ErrOutOfRange when from < FirstOffset() or to > LastOffset()+1 or
	// from > to. The caller may keep and modify the returned entries.
	Entries(from, to uint64, maxBytes int) ([]Entry, error)
	// FirstOffset returns the lowest offset held, or LastOffset()+1 when
	// the log is empty.
	FirstOffset() uint64
	// LastOffset returns the highest offset held, or the offset just below
	// the next append when the log is empty.
	LastOffset() uint64
	// TruncateSuffix removes the entries with offsets >= from, so that
	// LastOffset() becomes from-1. from must be in [FirstOffset(),
	// LastOffset()+1]; otherwise it returns an error wrapping ErrOutOfRange.
	TruncateSuffix(from uint64) error
	// TruncatePrefix removes the entries with offsets < before, so that
	// FirstOffset() becomes before. When before > LastOffset()+1 the log
	// becomes empty and the next append takes offset before. A before at
	// or below FirstOffset() changes nothing.
	TruncatePrefix(before uint64) error
	// SetMeta durably stores value under key, replacing any earlier value.
	// Keys are short names such as "epoch" or "commit".
	SetMeta(key string, value []byte) error
	// Meta returns the value stored under key and whether there is one.
	Meta(key string) (value []byte, ok bool, err error)
	// Close releases the storage. No method may be called after Close.
	Close() error
}

// SnapshotStore keeps a snapshot of a node's applied state, the state
// machines' and the de-duplication state, as the bytes the node writes.
// A Storage may also implement it; the node finds it with a type
// assertion. Package storage/storagetest checks an implementation with
// RunSnapshots.
//
// A snapshot is taken at an applied offset: it holds the state after the
// entries up to and including Offset were applied, and Epoch is the epoch
// of the entry at Offset. The store holds at most one committed snapshot
// that reads can see, the newest, and at most one being written.
//
// Durability: once Commit returns nil, the snapshot survives a crash of
// the process or the machine as the implementation promises (a durable
// store has it on stable storage). A crash at any point of a save leaves
// either the snapshot committed before it or the new one, whole; never
// neither, never part of one. Every snapshot carries a checksum that is
// verified as it is read: a reader never returns bytes that failed it,
// and a snapshot found damaged reads as an error wrapping ErrCorrupt.
//
// Memory: content is streamed. An implementation that keeps snapshots on
// disk holds a bounded buffer per writer and per reader, never a whole
// snapshot; no size is needed before writing.
//
// Implementations must be safe for concurrent use: readers run in
// parallel with each other and with a writer, and a reader opened before
// a commit goes on reading the snapshot it opened. The SnapshotWriter and
// SnapshotReader values themselves are each for one goroutine at a time.
// After the storage is closed, every method here, and Write, Commit and
// Read on values they returned, return an error wrapping ErrClosed; Close
// aborts a snapshot being written.
type SnapshotStore interface {
	// CreateSnapshot starts writing a snapshot taken at offset, whose entry
	// at offset has epoch epoch. It returns an error wrapping
	// ErrStaleSnapshot when offset is not above the newest committed
	// snapshot's, and one wrapping ErrSnapshotInProgress while another
	// snapshot is being written (committed or aborted ends it). Nothing is
	// visible to readers until Commit.
	CreateSnapshot(offset, epoch uint64) (SnapshotWriter, error)
	// LatestSnapshot describes the newest committed snapshot; ok is false
	// when there is none. It returns an error wrapping ErrCorrupt when the
	// newest snapshot's description is damaged.
	LatestSnapshot() (info SnapshotInfo, ok bool, err error)
	// OpenSnapshot opens the newest committed snapshot for reading. It
	// returns an error wrapping ErrNoSnapshot when there is none, and one
	// wrapping ErrCorrupt when its description is damaged. The caller must
	// Close the reader.
	OpenSnapshot() (SnapshotReader, error)
}

// SnapshotInfo describes a snapshot.
type SnapshotInfo struct {
	// Offset is the last offset applied to the state the snapshot holds.
	Offset uint64
	// Epoch is the epoch of the entry at Offset.
	Epoch uint64
	// Size is the number of content bytes, checksums and framing excluded.
	Size int64
}

// SnapshotWriter receives a snapshot's content. Write takes any number of
// bytes per call (the writer does not retain p); the content becomes the
// newest snapshot only when Commit returns nil. Abort, or a Write or
// Commit that fails, discards it and leaves the snapshot committed before
// in place; the one exception is a durable store that could not make the
// new snapshot's replacement durable, which may hold either one after a
// crash and then refuses every change (its documentation says so).
// Abort after Commit, or a second Abort, does nothing and returns nil, so
// `defer w.Abort()` is the way to make sure a writer ends. Write and
// Commit after Commit or Abort return an error wrapping ErrClosed.
type SnapshotWriter interface {
	io.Writer
	// Commit makes the content written the newest snapshot, durably as the
	// store promises, and removes the one it replaces. It returns an
	// error wrapping ErrStaleSnapshot when a snapshot at the same or a
	// higher offset was committed since CreateSnapshot.
	Commit() error
	// Abort discards the content written.
	Abort() error
}

// SnapshotReader reads a committed snapshot's content. Read returns io.EOF
// only after the whole content has been read and verified; damage found
// along the way ends the content with an error wrapping ErrCorrupt, and
// no byte that failed its checksum is returned.
type SnapshotReader interface {
	io.ReadCloser
	// Info describes the snapshot being read.
	Info() SnapshotInfo
}
