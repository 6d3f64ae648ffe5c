package pebble

import (
	"encoding/binary"
	"fmt"
)

// Key layout. Each kind of record has its own one-byte prefix, so each
// lives in one contiguous key range:
//
//	'e' + big-endian uint64 offset   a log entry (9 bytes; byte order sorts
//	                                  keys by offset)
//	'm' + name                       a metadata value set with SetMeta
//	's' + name                       the storage's own state: "s/first" holds
//	                                  the first offset, persisted by
//	                                  TruncatePrefix
const (
	entryPrefix byte = 'e'
	metaPrefix  byte = 'm'
	// firstOffsetKey holds FirstOffset once a TruncatePrefix has moved it
	// from 1. It lives outside the entry range, so a DeleteRange over
	// entries never touches it.
	firstOffsetKey = "s/first"
	// entryKeyLen is the length of every key in the entry range.
	entryKeyLen = 1 + 8
)

// entryKey returns the key of the entry at off.
func entryKey(off uint64) []byte {
	return appendEntryKey(make([]byte, 0, entryKeyLen), off)
}

// appendEntryKey appends the key of the entry at off to dst.
func appendEntryKey(dst []byte, off uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, entryPrefix), off)
}

// entryRangeEnd returns the exclusive upper bound of the entry key range:
// it sorts after every entry key and before every other prefix's keys.
func entryRangeEnd() []byte { return []byte{entryPrefix + 1} }

// parseEntryKey returns the offset of an entry key. A key that is not a
// well-formed entry key is corrupt.
func parseEntryKey(key []byte) (uint64, error) {
	if len(key) != entryKeyLen || key[0] != entryPrefix {
		return 0, fmt.Errorf("%w: malformed entry key %x", ErrCorrupt, key)
	}
	return binary.BigEndian.Uint64(key[1:]), nil
}

// metaKey returns the key under which SetMeta stores name.
func metaKey(name string) []byte {
	return append(append(make([]byte, 0, 1+len(name)), metaPrefix), name...)
}
