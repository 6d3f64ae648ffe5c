package pebble

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/chainrep/chain"
)

// Value encoding. Every value this package stores is framed the same way:
//
//	crc32c  4 bytes, little-endian: CRC-32C (Castagnoli) of everything after it
//	version 1 byte: formatVersion
//	body    depends on the record
//
// An entry's body is
//
//	uvarint Offset, uvarint Epoch, uvarint Session, uvarint Seq, uvarint Acked,
//	uvarint len(Client), Client, uvarint len(Command), Command,
//	Data (the rest of the value)
//
// so a 100-byte entry with short names costs about 120 bytes. An entry
// with a session stamp (Since or Time not zero) is a record of version
// stampedEntryVersion, whose body has uvarint Since and uvarint Time (as
// an unsigned number) after Acked; entries without one keep version 1, so
// records written before stamps existed read the same. The offset
// is stored although the key holds it too, so that a value found under
// the wrong key is caught. A metadata value's body is the value itself;
// the first-offset record's body is one uvarint.
//
// Decoding is strict: a bad checksum, an unknown version, a length that
// runs past the end, trailing bytes after a fixed-size body or a
// non-minimal varint all make the record corrupt.
const (
	crcLen        = 4
	formatVersion = 1
	// stampedEntryVersion is the version of an entry record with Since and
	// Time.
	stampedEntryVersion = 2
	headerLen           = crcLen + 1
)

// checksum returns the CRC-32C (Castagnoli) of b. MakeTable returns the
// crc32 package's shared, hardware-accelerated table for this polynomial.
func checksum(b []byte) uint32 {
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}

// beginRecord appends a record header with a zero checksum to dst; seal
// fills the checksum in once the body has been appended.
func beginRecord(dst []byte) []byte {
	return append(dst, 0, 0, 0, 0, formatVersion)
}

// seal writes the checksum of rec, which begins with a header from
// beginRecord, and returns rec.
func seal(rec []byte) []byte {
	binary.LittleEndian.PutUint32(rec[:crcLen], checksum(rec[crcLen:]))
	return rec
}

// openRecord verifies rec's checksum and version and returns its body,
// which aliases rec.
func openRecord(rec []byte) ([]byte, error) {
	body, _, err := openVersioned(rec, formatVersion)
	return body, err
}

// openVersioned is openRecord for a record of any of the versions given;
// it also returns the record's version.
func openVersioned(rec []byte, versions ...byte) ([]byte, byte, error) {
	if len(rec) < headerLen {
		return nil, 0, fmt.Errorf("%w: %d-byte record is shorter than its %d-byte header", ErrCorrupt, len(rec), headerLen)
	}
	want := binary.LittleEndian.Uint32(rec[:crcLen])
	if got := checksum(rec[crcLen:]); got != want {
		return nil, 0, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	v := rec[crcLen]
	if !slices.Contains(versions, v) {
		return nil, 0, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	return rec[headerLen:], v, nil
}

// encodedEntrySize returns an upper bound of the length of e's record.
func encodedEntrySize(e *chain.Entry) int {
	return headerLen + 8*binary.MaxVarintLen64 + len(e.Client) + len(e.Command) + len(e.Data)
}

// appendEntry appends the record of e to dst.
func appendEntry(dst []byte, e *chain.Entry) []byte {
	start := len(dst)
	dst = beginRecord(dst)
	stamped := e.Since != 0 || e.Time != 0
	if stamped {
		dst[len(dst)-1] = stampedEntryVersion
	}
	dst = binary.AppendUvarint(dst, e.Offset)
	dst = binary.AppendUvarint(dst, e.Epoch)
	dst = binary.AppendUvarint(dst, e.Session)
	dst = binary.AppendUvarint(dst, e.Seq)
	dst = binary.AppendUvarint(dst, e.Acked)
	if stamped {
		dst = binary.AppendUvarint(dst, e.Since)
		dst = binary.AppendUvarint(dst, uint64(e.Time))
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Client)))
	dst = append(dst, e.Client...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Command)))
	dst = append(dst, e.Command...)
	dst = append(dst, e.Data...)
	seal(dst[start:])
	return dst
}

// decodeEntry decodes an entry record. Its Data is copied with alloc (a
// nil alloc allocates it alone), so the entry shares no memory with rec.
// Errors wrap ErrCorrupt.
func decodeEntry(rec []byte, alloc *slab) (chain.Entry, error) {
	body, version, err := openVersioned(rec, formatVersion, stampedEntryVersion)
	if err != nil {
		return chain.Entry{}, err
	}
	d := decoder{buf: body}
	e := chain.Entry{
		Offset:  d.uvarint("offset"),
		Epoch:   d.uvarint("epoch"),
		Session: d.uvarint("session"),
		Seq:     d.uvarint("seq"),
		Acked:   d.uvarint("acked"),
	}
	if version == stampedEntryVersion {
		e.Since = d.uvarint("since")
		e.Time = int64(d.uvarint("time"))
	}
	e.Client = alloc.string(d.bytes("client"), 0)
	e.Command = alloc.string(d.bytes("command"), 1)
	if d.err != nil {
		return chain.Entry{}, d.err
	}
	e.Data = alloc.copy(d.buf)
	return e, nil
}

// appendMeta appends the record of a metadata value to dst.
func appendMeta(dst, value []byte) []byte {
	start := len(dst)
	dst = append(beginRecord(dst), value...)
	seal(dst[start:])
	return dst
}

// decodeMeta returns a copy of the value held by a metadata record.
// Errors wrap ErrCorrupt.
func decodeMeta(rec []byte) ([]byte, error) {
	body, err := openRecord(rec)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, body...), nil
}

// appendFirstOffset appends the record of the first offset to dst.
func appendFirstOffset(dst []byte, first uint64) []byte {
	start := len(dst)
	dst = binary.AppendUvarint(beginRecord(dst), first)
	seal(dst[start:])
	return dst
}

// decodeFirstOffset decodes a first-offset record. Errors wrap ErrCorrupt.
func decodeFirstOffset(rec []byte) (uint64, error) {
	body, err := openRecord(rec)
	if err != nil {
		return 0, err
	}
	d := decoder{buf: body}
	first := d.uvarint("first offset")
	if d.err == nil && len(d.buf) != 0 {
		d.err = fmt.Errorf("%w: %d bytes after the first offset", ErrCorrupt, len(d.buf))
	}
	if d.err == nil && first == 0 {
		d.err = fmt.Errorf("%w: first offset 0", ErrCorrupt)
	}
	return first, d.err
}

// decoder reads a record body front to back. After the first error every
// read returns zero values and err keeps that error.
type decoder struct {
	buf []byte
	err error
}

// uvarint reads a minimally encoded uvarint; field names it in errors.
func (d *decoder) uvarint(field string) uint64 {
	return d.varint(field, "")
}

// varint reads a minimally encoded uvarint; field and what name it in
// errors (they are joined only then, so reading allocates nothing).
func (d *decoder) varint(field, what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	switch {
	case n <= 0:
		d.err = fmt.Errorf("%w: bad varint for %s%s", ErrCorrupt, field, what)
		return 0
	case n != uvarintLen(v):
		d.err = fmt.Errorf("%w: non-minimal varint for %s%s", ErrCorrupt, field, what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// bytes reads a uvarint length and that many bytes, which alias the
// record.
func (d *decoder) bytes(field string) []byte {
	n := d.varint(field, " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = fmt.Errorf("%w: %s length %d exceeds the %d bytes left", ErrCorrupt, field, n, len(d.buf))
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

// uvarintLen returns the length of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// slab copies byte slices into shared chunks, so that decoding a page of
// entries allocates a few chunks rather than one slice per entry. Each
// copy's capacity equals its length, so appending to one never writes
// into another. It also reuses repeated strings. A nil *slab allocates
// every copy alone.
type slab struct {
	buf []byte
	// last holds the strings string returned last for each of its kinds
	// (client, command): a page of entries mostly repeats them.
	last [2]string
}

const (
	minSlabChunk = 1 << 10
	maxSlabChunk = 64 << 10
)

// copy returns a copy of b, or nil when b is empty.
func (s *slab) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if s == nil || len(b) > maxSlabChunk/4 {
		return append(make([]byte, 0, len(b)), b...)
	}
	if len(b) > cap(s.buf)-len(s.buf) {
		size := min(max(2*cap(s.buf), minSlabChunk), maxSlabChunk)
		s.buf = make([]byte, 0, size)
	}
	start := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[start:len(s.buf):len(s.buf)]
}

// string returns b as a string, reusing the previous string of the same
// kind (an index into s.last) when it has the same bytes.
func (s *slab) string(b []byte, kind int) string {
	if s == nil {
		return string(b)
	}
	if s.last[kind] != string(b) { // the comparison does not allocate
		s.last[kind] = string(b)
	}
	return s.last[kind]
}
