package pebble

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/chainrep/chain"
)

// Option configures Open.
type Option func(*config)

// config is what the options set.
type config struct {
	sync      bool
	cacheSize int64
	fs        vfs.FS
	fsSet     bool
	logger    *slog.Logger
	// memTableSize overrides Pebble's memtable size when positive. Tests
	// shrink it to make flushes and compactions happen on small logs.
	memTableSize uint64
}

// defaultCacheSize is the block cache size when WithCacheSize is not given.
const defaultCacheSize = 8 << 20

func defaultConfig() config {
	return config{sync: true, cacheSize: defaultCacheSize}
}

// WithSync sets whether every change is synced to stable storage before
// the call that made it returns. The default, true, is durable: once
// Append, TruncateSuffix, TruncatePrefix or SetMeta returns nil the change
// survives a crash of the process or the machine.
//
// With false nothing is synced, and Pebble writes its log to the file
// system in the background: acknowledged entries, truncations and
// metadata MAY BE LOST when the process or the machine crashes (what
// survives of the log's changes is a prefix of them, in order, and so is
// what survives of the metadata's, but the two are kept in separate
// databases and lose their suffixes independently), and a write error may
// go unnoticed until Close.
// Use it only for tests and benchmarks, or for nodes whose durability
// comes from the other chain members and that rejoin as new nodes after a
// machine crash. Snapshots are synced whatever the policy: their atomic
// replacement depends on it.
func WithSync(sync bool) Option {
	return func(c *config) { c.sync = sync }
}

// WithCacheSize sets the size in bytes of Pebble's block cache, which
// holds recently read blocks of the log's files. The default is 8 MiB; 0
// disables caching; a negative size makes Open fail.
func WithCacheSize(bytes int64) Option {
	return func(c *config) { c.cacheSize = bytes }
}

// WithFS makes the storage keep its files in fs, one of Pebble's virtual
// file systems, rather than the operating system's; dir is then a path in
// fs. Tests use it with vfs.NewMem, vfs.NewCrashableMem or an
// error-injecting wrapper. A nil fs makes Open fail.
func WithFS(fs vfs.FS) Option {
	return func(c *config) { c.fs, c.fsSet = fs, true }
}

// WithLogger sets where the storage and Pebble log. Pebble's
// informational messages go at Debug level, its errors (such as failed
// background compactions) at Error level. The default is slog.Default().
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// validate reports whether the configuration can open a storage.
func (c *config) validate() error {
	if c.cacheSize < 0 {
		return fmt.Errorf("%w: negative cache size %d", chain.ErrInvalidConfig, c.cacheSize)
	}
	if c.fsSet && c.fs == nil {
		return fmt.Errorf("%w: nil file system", chain.ErrInvalidConfig)
	}
	return nil
}
