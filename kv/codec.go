package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error a decoder returns for input that
// is not a well-formed message. Across the chain a malformed command
// reaches the client as an error wrapping chain.ErrCommandFailed, whose
// text names the problem.
var ErrMalformed = errors.New("kv: malformed message")

// Wire format. Every message is a fixed sequence of fields with no header:
//
//	bytes field: uvarint length, then that many bytes
//	flag field:  one byte, 0 (false) or 1 (true)
//	count field: uvarint
//
//	put request:    key bytes, value bytes
//	key request:    key bytes                     (delete, get)
//	cas request:    key bytes, expected-found flag, expected bytes, value bytes
//	flag result:    flag                          (delete: existed, cas: swapped)
//	get result:     found flag, then value bytes only if found
//	count result:   count                         (len)
//	put result:     empty
//
// Keys are 1 to MaxKeyLen bytes. Decoders reject truncated input, trailing
// bytes, flags other than 0 and 1 and out-of-range keys; they never panic
// and never allocate more than their input. Decoded byte slices alias the
// input.

// putRequest is the payload of CmdPut.
type putRequest struct {
	Key   string
	Value []byte
}

// casRequest is the payload of CmdCAS.
type casRequest struct {
	Key           string
	Expected      []byte
	ExpectedFound bool
	Value         []byte
}

// getResult is the result of QueryGet.
type getResult struct {
	Value []byte
	Found bool
}

func encodePut(r putRequest) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(r.Key)+len(r.Value))
	b = appendBytes(b, []byte(r.Key))
	return appendBytes(b, r.Value)
}

func decodePut(b []byte) (putRequest, error) {
	d := decoder{buf: b}
	r := putRequest{Key: d.key(), Value: d.bytes()}
	return r, d.finish("put request")
}

func encodeKey(key string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(key))
	return appendBytes(b, []byte(key))
}

func decodeKey(b []byte) (string, error) {
	d := decoder{buf: b}
	key := d.key()
	return key, d.finish("key request")
}

func encodeCAS(r casRequest) []byte {
	b := make([]byte, 0, 3*binary.MaxVarintLen64+1+len(r.Key)+len(r.Expected)+len(r.Value))
	b = appendBytes(b, []byte(r.Key))
	b = appendFlag(b, r.ExpectedFound)
	b = appendBytes(b, r.Expected)
	return appendBytes(b, r.Value)
}

func decodeCAS(b []byte) (casRequest, error) {
	d := decoder{buf: b}
	r := casRequest{Key: d.key(), ExpectedFound: d.flag(), Expected: d.bytes(), Value: d.bytes()}
	return r, d.finish("cas request")
}

func encodeFlag(v bool) []byte { return appendFlag(nil, v) }

func decodeFlag(b []byte) (bool, error) {
	d := decoder{buf: b}
	v := d.flag()
	return v, d.finish("flag result")
}

func encodeGetResult(r getResult) []byte {
	b := appendFlag(make([]byte, 0, 1+binary.MaxVarintLen64+len(r.Value)), r.Found)
	if r.Found {
		b = appendBytes(b, r.Value)
	}
	return b
}

func decodeGetResult(b []byte) (getResult, error) {
	d := decoder{buf: b}
	r := getResult{Found: d.flag()}
	if r.Found {
		r.Value = d.bytes()
	}
	return r, d.finish("get result")
}

func encodeCount(n uint64) []byte { return binary.AppendUvarint(nil, n) }

func decodeCount(b []byte) (uint64, error) {
	d := decoder{buf: b}
	n := d.uvarint()
	return n, d.finish("count result")
}

func appendBytes(b, field []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(field)))
	return append(b, field...)
}

func appendFlag(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// decoder reads fields from buf. After the first error every read returns
// a zero value and the error sticks; finish reports it.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail("field of %d bytes, %d left", n, len(d.buf))
		return nil
	}
	field := d.buf[:n:n]
	d.buf = d.buf[n:]
	return field
}

func (d *decoder) key() string {
	k := d.bytes()
	if d.err == nil {
		if err := checkKey(string(k)); err != nil {
			d.fail("%v", err)
		}
	}
	return string(k)
}

func (d *decoder) flag() bool {
	if d.err != nil {
		return false
	}
	if len(d.buf) == 0 {
		d.fail("missing flag")
		return false
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	if v > 1 {
		d.fail("flag byte %d", v)
		return false
	}
	return v == 1
}

// finish returns the first error, or an error if input is left over.
func (d *decoder) finish(what string) error {
	if d.err == nil && len(d.buf) > 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return fmt.Errorf("decode %s: %w", what, d.err)
	}
	return nil
}
