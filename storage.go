package chain

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
