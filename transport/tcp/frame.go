package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// The wire format. A connection carries a sequence of frames:
//
//	frame   = length payload
//	length  = 4 bytes, big-endian: the payload size, 1 ≤ size ≤ MaxFrameSize
//	payload = type byte, then type-specific bytes
//
// A payload whose first byte is a wire.MessageKind (1..5, and any future
// kind below 0x80) is a message, exactly the bytes of wire.EncodeMessage.
// Bytes 0x80 and above are control frames of this package:
//
//	hello   = 0x80 'c' 'h' 'n' version addr   (the first frame of every connection, sent by the dialer)
//	ping    = 0x81                            (keepalive, ignored by the reader)
//
// The fixed-width length lets the writer reserve it, encode the message
// after it in place and fill it in, with no copy.
const (
	headerSize = 4

	frameHello byte = 0x80
	framePing  byte = 0x81

	helloVersion byte = 1
	// maxAddrLen bounds the address in a hello.
	maxAddrLen = 512
	// maxHelloSize bounds the first frame of a connection, read before the
	// peer is verified.
	maxHelloSize = 1 + 3 + 1 + maxAddrLen
)

// helloMagic follows the hello's type byte.
var helloMagic = [3]byte{'c', 'h', 'n'}

// keepBufSize is the largest buffer a reader or writer keeps for reuse
// between frames; larger frames get a buffer of their own.
const keepBufSize = 1 << 20

// errBadFrame marks a violation of the wire format.
var errBadFrame = errors.New("bad frame")

// frameReader reads frames from r. It checks each length against max
// before allocating anything, and grows the buffer of a large frame only as
// its bytes arrive, so a peer that lies about a length cannot make it
// allocate much more than it sends. It is not safe for concurrent use.
type frameReader struct {
	r   io.Reader
	max int
	hdr [headerSize]byte
	// buf is reused for frames up to keepBufSize.
	buf []byte
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: r, max: max}
}

// next reads one frame and returns its payload, which is valid until the
// following call. It returns io.EOF if r ends cleanly between frames, and
// an error wrapping chain.ErrTooLarge for a frame longer than the limit, or
// errBadFrame for an empty one, without reading its payload.
func (fr *frameReader) next() ([]byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[:])
	if n == 0 {
		return nil, fmt.Errorf("read frame: %w: zero length", errBadFrame)
	}
	if uint64(n) > uint64(fr.max) {
		return nil, fmt.Errorf("read frame: %w: %d bytes exceeds the limit of %d", chain.ErrTooLarge, n, fr.max)
	}
	size := int(n)
	if size <= cap(fr.buf) {
		fr.buf = fr.buf[:size]
		return fr.readInto(fr.buf)
	}
	if size <= keepBufSize {
		fr.buf = make([]byte, size)
		return fr.readInto(fr.buf)
	}
	// A large frame: read it in chunks, doubling the buffer as they come.
	buf := make([]byte, 0, keepBufSize)
	for len(buf) < size {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), size-len(buf)))
		}
		chunk := buf[len(buf):min(cap(buf), size)]
		if _, err := io.ReadFull(fr.r, chunk); err != nil {
			return nil, fmt.Errorf("read frame of %d bytes: %w", size, unexpected(err))
		}
		buf = buf[:len(buf)+len(chunk)]
	}
	return buf, nil
}

func (fr *frameReader) readInto(b []byte) ([]byte, error) {
	if _, err := io.ReadFull(fr.r, b); err != nil {
		return nil, fmt.Errorf("read frame of %d bytes: %w", len(b), unexpected(err))
	}
	return b, nil
}

// unexpected turns an io.EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendMessageFrame appends the frame of msg to dst. On error, including
// an encoding longer than max (wrapping chain.ErrTooLarge), it returns dst
// unchanged.
func appendMessageFrame(dst []byte, msg chain.Message, max int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := wire.EncodeMessage(dst, msg)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start - headerSize
	if n > max {
		return dst[:start], fmt.Errorf("encode %T: %w: %d bytes exceeds the frame limit of %d", msg, chain.ErrTooLarge, n, max)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return dst, nil
}

// appendHelloFrame appends the hello frame naming addr to dst. addr must be
// at most maxAddrLen bytes.
func appendHelloFrame(dst []byte, addr string) []byte {
	n := 1 + len(helloMagic) + 1 + len(addr)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, frameHello)
	dst = append(dst, helloMagic[:]...)
	dst = append(dst, helloVersion)
	return append(dst, addr...)
}

// appendPingFrame appends a keepalive frame to dst.
func appendPingFrame(dst []byte) []byte {
	return append(dst, 0, 0, 0, 1, framePing)
}

// parseHello returns the address named by a hello payload.
func parseHello(p []byte) (string, error) {
	const fixed = 1 + len(helloMagic) + 1
	if len(p) < fixed || p[0] != frameHello || [3]byte(p[1:4]) != helloMagic {
		return "", fmt.Errorf("hello: %w: not a hello frame", errBadFrame)
	}
	if p[4] != helloVersion {
		return "", fmt.Errorf("hello: %w: unsupported version %d", errBadFrame, p[4])
	}
	addr := p[fixed:]
	if len(addr) == 0 || len(addr) > maxAddrLen {
		return "", fmt.Errorf("hello: %w: address of %d bytes", errBadFrame, len(addr))
	}
	return string(addr), nil
}

// decodeFrame decodes a frame payload that is not a hello: it returns the
// message it carries, or nil for a keepalive.
func decodeFrame(p []byte) (chain.Message, error) {
	switch {
	case p[0] == framePing:
		if len(p) != 1 {
			return nil, fmt.Errorf("ping: %w: %d bytes", errBadFrame, len(p))
		}
		return nil, nil
	case p[0] >= frameHello:
		return nil, fmt.Errorf("%w: unexpected frame type %#x", errBadFrame, p[0])
	}
	return wire.DecodeMessage(p)
}
