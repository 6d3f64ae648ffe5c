package pebble

// withMemTableSize makes Pebble's memtables small, so that tests on small
// logs exercise flushes and compactions.
func withMemTableSize(bytes uint64) Option {
	return func(c *config) { c.memTableSize = bytes }
}
