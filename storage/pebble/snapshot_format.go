package pebble

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/chainrep/chain"
)

// Snapshot file format. A snapshot file is
//
//	header  36 bytes: magic "chainSNP", uint32 version, uint32 block size,
//	        uint64 offset, uint64 epoch, uint32 CRC-32C of the 32 bytes before it
//	blocks  the content cut into blocks of the block size (the last one
//	        shorter, none for empty content), each one a uint32 CRC-32C of
//	        the block's index (uint64) and its bytes, followed by the bytes
//	trailer 12 bytes: uint64 content size, uint32 CRC-32C of the header's
//	        checksum and the size
//
// all integers little-endian. The size in the trailer fixes the number
// and lengths of the blocks, and so the file's length, which is checked
// before any content is read; a reader returns a block only once it has
// checked it, so no damaged byte is returned as content. The trailer is
// written last: a file cut short anywhere fails the length check or the
// trailer's checksum.
const (
	snapMagic        = "chainSNP"
	snapVersion      = 1
	snapHeaderLen    = 36
	snapTrailerLen   = 12
	snapBlockCRCLen  = 4
	defaultBlockSize = 64 << 10
)

// crcTable is the CRC-32C (Castagnoli) table.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// snapHeader is what a snapshot file's header holds.
type snapHeader struct {
	blockSize     uint32
	offset, epoch uint64
}

// appendSnapHeader appends the encoded header h to dst.
func appendSnapHeader(dst []byte, h snapHeader) []byte {
	start := len(dst)
	dst = append(dst, snapMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, snapVersion)
	dst = binary.LittleEndian.AppendUint32(dst, h.blockSize)
	dst = binary.LittleEndian.AppendUint64(dst, h.offset)
	dst = binary.LittleEndian.AppendUint64(dst, h.epoch)
	return binary.LittleEndian.AppendUint32(dst, checksum(dst[start:]))
}

// decodeSnapHeader decodes a header of snapHeaderLen bytes; errors wrap
// chain.ErrCorrupt.
func decodeSnapHeader(b []byte) (snapHeader, error) {
	if len(b) != snapHeaderLen || string(b[:len(snapMagic)]) != snapMagic {
		return snapHeader{}, fmt.Errorf("%w: not a snapshot header", chain.ErrCorrupt)
	}
	if got, want := checksum(b[:snapHeaderLen-4]), binary.LittleEndian.Uint32(b[snapHeaderLen-4:]); got != want {
		return snapHeader{}, fmt.Errorf("%w: header checksum %#08x, want %#08x", chain.ErrCorrupt, got, want)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != snapVersion {
		return snapHeader{}, fmt.Errorf("%w: unknown snapshot version %d", chain.ErrCorrupt, v)
	}
	h := snapHeader{
		blockSize: binary.LittleEndian.Uint32(b[12:]),
		offset:    binary.LittleEndian.Uint64(b[16:]),
		epoch:     binary.LittleEndian.Uint64(b[24:]),
	}
	if h.blockSize == 0 || h.blockSize > 1<<30 {
		return snapHeader{}, fmt.Errorf("%w: block size %d", chain.ErrCorrupt, h.blockSize)
	}
	return h, nil
}

// headerCRC returns the checksum stored in an encoded header.
func headerCRC(header []byte) uint32 {
	return binary.LittleEndian.Uint32(header[snapHeaderLen-4:])
}

// appendSnapTrailer appends the trailer of content of size bytes after a
// header whose checksum is hcrc.
func appendSnapTrailer(dst []byte, hcrc uint32, size uint64) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, size)
	return binary.LittleEndian.AppendUint32(dst, trailerCRC(hcrc, size))
}

// trailerCRC is the trailer's checksum of size after a header whose
// checksum is hcrc.
func trailerCRC(hcrc uint32, size uint64) uint32 {
	var b [12]byte
	binary.LittleEndian.PutUint32(b[:], hcrc)
	binary.LittleEndian.PutUint64(b[4:], size)
	return checksum(b[:])
}

// decodeSnapTrailer decodes a trailer of snapTrailerLen bytes that follows
// a header whose checksum is hcrc, and returns the content size; errors
// wrap chain.ErrCorrupt.
func decodeSnapTrailer(b []byte, hcrc uint32) (uint64, error) {
	if len(b) != snapTrailerLen {
		return 0, fmt.Errorf("%w: short trailer", chain.ErrCorrupt)
	}
	size := binary.LittleEndian.Uint64(b)
	if got, want := trailerCRC(hcrc, size), binary.LittleEndian.Uint32(b[8:]); got != want {
		return 0, fmt.Errorf("%w: trailer checksum %#08x, want %#08x", chain.ErrCorrupt, got, want)
	}
	return size, nil
}

// snapFileLen returns the length of the file of a snapshot of size content
// bytes in blocks of blockSize, or false if it does not fit an int64.
func snapFileLen(size uint64, blockSize uint32) (int64, bool) {
	blocks := (size + uint64(blockSize) - 1) / uint64(blockSize)
	n := snapHeaderLen + snapTrailerLen + blocks*snapBlockCRCLen + size
	if size > 1<<62 || n > 1<<62 {
		return 0, false
	}
	return int64(n), true
}

// blockCRC returns the checksum of the block with index i and bytes b.
func blockCRC(i uint64, b []byte) uint32 {
	var idx [8]byte
	binary.LittleEndian.PutUint64(idx[:], i)
	return crc32.Update(crc32.Checksum(idx[:], crcTable), crcTable, b)
}
