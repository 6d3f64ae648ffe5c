package pebble

import "errors"

// Sentinel errors of this package. Check them with errors.Is; the errors
// that wrap them say which offset, key or operation was concerned.
var (
	// ErrCorrupt: a stored record failed its CRC-32C check, could not be
	// decoded, or does not belong where it was found (an entry stored under
	// another offset's key, a gap inside the held range). Corrupt records
	// are never returned as data and never dropped silently.
	ErrCorrupt = errors.New("pebble storage: corrupt record")
	// ErrFailed: an earlier write or sync failed, so the storage refuses
	// every later change (fail-stop). Errors wrapping ErrFailed also wrap
	// that first failure.
	ErrFailed = errors.New("pebble storage: failed")
)
