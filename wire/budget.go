package wire

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
)

// The decode budget bounds what decoding a message may allocate, whatever
// its bytes claim, and is checked before the decoder runs
// (checkDecodeBudget). It walks the msgpack value against the shape of the
// Go type it decodes into and requires that
//   - every declared length (of a string, a byte string, an extension, an
//     array's elements or a map's pairs) fits in the bytes left, so that no
//     forged length makes the decoder reserve memory that no bytes back;
//   - nesting is at most maxDecodeDepth deep (the deepest message nests 5);
//   - what decoding allocates for it — the Go size of every list element
//     and pointer target, and the bytes of every string — is at most
//     decodeAmplification times the message's size, plus decodeSlack.
//
// Without the last rule a frame of empty arrays, one byte each, decodes
// into one ~100-byte struct per byte: a 1 MiB frame allocated 483 MiB. The
// smallest legitimate elements are zero-valued responses and replicas (a
// ClientResponse is 80 bytes in Go from 7 on the wire, about 11 times), so
// the factor leaves room for them and refuses what is far smaller.
const (
	maxDecodeDepth      = 32
	decodeAmplification = 16
	decodeSlack         = 64 << 10
)

// shapeKind is what the budget needs to know of a Go type.
type shapeKind uint8

const (
	shapeScalar  shapeKind = iota // numbers, bools: inline, nothing to allocate
	shapeBytes                    // a string or []byte: its bytes are allocated
	shapeList                     // a slice of elem
	shapePointer                  // a pointer to elem
	shapeStruct                   // fields, encoded as an array (or a map by name)
)

// shape is the budget's view of a Go type of the wire format.
type shape struct {
	kind   shapeKind
	size   int64          // the Go size of one value
	elem   *shape         // a list's element, a pointer's target
	fields []*shape       // a struct's fields, in declaration order
	names  map[string]int // a struct's field indexes by codec name
}

// shapeOf returns the shape of t, built once per type into known.
func shapeOf(t reflect.Type, known map[reflect.Type]*shape) *shape {
	if s, ok := known[t]; ok {
		return s
	}
	s := &shape{size: int64(t.Size())}
	known[t] = s // before the fields: a type may refer to itself
	switch t.Kind() {
	case reflect.String:
		s.kind = shapeBytes
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s.kind = shapeBytes
		} else {
			s.kind, s.elem = shapeList, shapeOf(t.Elem(), known)
		}
	case reflect.Pointer:
		s.kind, s.elem = shapePointer, shapeOf(t.Elem(), known)
	case reflect.Struct:
		s.kind, s.names = shapeStruct, map[string]int{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("codec"), ",")
			if name == "" {
				name = f.Name
			}
			s.names[name] = len(s.fields)
			s.fields = append(s.fields, shapeOf(f.Type, known))
		}
	default:
		s.kind = shapeScalar
	}
	return s
}

// messageShapes holds the shape of every message type, by kind; it is
// built at initialisation and read-only after.
var messageShapes = func() map[MessageKind]*shape {
	known := map[reflect.Type]*shape{}
	shapes := map[MessageKind]*shape{}
	for kind := range MessageKind(255) {
		if kind == KindEnvelope {
			continue
		}
		if msg, err := newMessage(kind); err == nil {
			shapes[kind] = shapeOf(reflect.TypeOf(msg).Elem(), known)
		}
	}
	return shapes
}()

// checkDecodeBudget reports whether body, the msgpack encoding of a message
// of kind, keeps to the decode budget; the error says how it does not.
func checkDecodeBudget(kind MessageKind, body []byte) error {
	w := budgetWalk{b: body, limit: decodeAmplification*int64(len(body)) + decodeSlack}
	if err := w.value(0, messageShapes[kind]); err != nil {
		return fmt.Errorf("%w: %v", CodeInvalidArgument, err)
	}
	return nil
}

// budgetWalk is one walk of checkDecodeBudget: the bytes, the position of
// the next value, and what decoding has allocated so far.
type budgetWalk struct {
	b      []byte
	pos    int
	cost   int64
	limit  int64
	failed error
}

func (w *budgetWalk) left() int { return len(w.b) - w.pos }

// spend adds n bytes to the allocation, failing past the limit.
func (w *budgetWalk) spend(n int64) error {
	w.cost += n
	if w.cost > w.limit {
		return fmt.Errorf("decoding %d bytes would allocate over %d", len(w.b), w.limit)
	}
	return nil
}

// tokenKind is the kind of a msgpack value's header.
type tokenKind uint8

const (
	tokenScalar tokenKind = iota // a number or bool
	tokenNil
	tokenBytes // a string, byte string or extension; its data consumed
	tokenArray
	tokenMap
)

// token is one value's header: its kind and, for bytes, the data's
// length, for arrays and maps, the values that follow (a map's keys and
// values both).
type token struct {
	kind tokenKind
	n    int
}

// take consumes n bytes, failing if fewer are left.
func (w *budgetWalk) take(n int) error {
	if n > w.left() {
		return fmt.Errorf("truncated at byte %d: %d bytes declared, %d left", w.pos, n, w.left())
	}
	w.pos += n
	return nil
}

// length reads a big-endian length of size bytes (1, 2 or 4), which must
// not exceed the bytes left.
func (w *budgetWalk) length(size int) (int, error) {
	if size > w.left() {
		return 0, fmt.Errorf("truncated length at byte %d", w.pos)
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(w.b[w.pos])
	case 2:
		n = uint64(binary.BigEndian.Uint16(w.b[w.pos:]))
	default:
		n = uint64(binary.BigEndian.Uint32(w.b[w.pos:]))
	}
	w.pos += size
	if n > uint64(w.left()) {
		return 0, fmt.Errorf("length %d at byte %d exceeds the %d bytes left", n, w.pos-size, w.left())
	}
	return int(n), nil
}

// next reads one value's header, and the data of a string, byte string or
// extension.
func (w *budgetWalk) next() (token, error) {
	if w.left() == 0 {
		return token{}, fmt.Errorf("truncated at byte %d", w.pos)
	}
	c := w.b[w.pos]
	w.pos++
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc2, c == 0xc3: // fixint, bool
		return token{kind: tokenScalar}, nil
	case c == 0xc0:
		return token{kind: tokenNil}, nil
	case c >= 0x80 && c <= 0x8f: // fixmap
		return w.container(tokenMap, 2*int(c&0x0f))
	case c >= 0x90 && c <= 0x9f: // fixarray
		return w.container(tokenArray, int(c&0x0f))
	case c >= 0xa0 && c <= 0xbf: // fixstr
		return w.data(int(c&0x1f), 0)
	}
	var sizes = [...]int{1, 2, 4}
	switch c {
	case 0xc4, 0xc5, 0xc6: // bin 8, 16, 32
		return w.sizedData(sizes[c-0xc4], 0)
	case 0xd9, 0xda, 0xdb: // str 8, 16, 32
		return w.sizedData(sizes[c-0xd9], 0)
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32: length, type, data
		return w.sizedData(sizes[c-0xc7], 1)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type, data
		return w.data(1<<(c-0xd4), 1)
	case 0xcc, 0xd0: // uint8, int8
		return token{kind: tokenScalar}, w.take(1)
	case 0xcd, 0xd1:
		return token{kind: tokenScalar}, w.take(2)
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return token{kind: tokenScalar}, w.take(4)
	case 0xcb, 0xcf, 0xd3:
		return token{kind: tokenScalar}, w.take(8)
	case 0xdc, 0xdd: // array 16, 32
		n, err := w.length(sizes[c-0xdc+1])
		if err != nil {
			return token{}, err
		}
		return w.container(tokenArray, n)
	case 0xde, 0xdf: // map 16, 32
		n, err := w.length(sizes[c-0xde+1])
		if err != nil {
			return token{}, err
		}
		return w.container(tokenMap, 2*n)
	}
	return token{}, fmt.Errorf("invalid msgpack descriptor 0x%02x at byte %d", c, w.pos-1)
}

// data consumes n bytes of data after extra bytes (an extension's type).
func (w *budgetWalk) data(n, extra int) (token, error) {
	return token{kind: tokenBytes, n: n}, w.take(extra + n)
}

// sizedData reads a length of size bytes, then consumes the data.
func (w *budgetWalk) sizedData(size, extra int) (token, error) {
	n, err := w.length(size)
	if err != nil {
		return token{}, err
	}
	return w.data(n, extra)
}

// container checks that the values an array or map declares can fit in
// the bytes left: each takes at least one.
func (w *budgetWalk) container(kind tokenKind, values int) (token, error) {
	if values > w.left() {
		return token{}, fmt.Errorf("%d values declared at byte %d, %d bytes left", values, w.pos, w.left())
	}
	return token{kind: kind, n: values}, nil
}

// isSmallScalar reports whether descriptor c is a whole value: a fixint,
// nil or a bool.
func isSmallScalar(c byte) bool { return c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3 }

// numberSizes are the data sizes of the fixed-size numbers, descriptors
// 0xcc (uint8) to 0xd3 (int64).
var numberSizes = [...]int{1, 2, 4, 8, 1, 2, 4, 8}

// value walks one value that decodes into s (nil: into nothing known, as
// an unknown field, which the decoder skips). Numbers, nil and bools, the
// most of any message, take the short way.
func (w *budgetWalk) value(depth int, s *shape) error {
	if w.pos < len(w.b) {
		c := w.b[w.pos]
		switch {
		case isSmallScalar(c):
			w.pos++
			return nil
		case c >= 0xcc && c <= 0xd3:
			if n := numberSizes[c-0xcc]; n < w.left() {
				w.pos += 1 + n
				return nil
			}
		}
	}
	t, err := w.next()
	if err != nil {
		return err
	}
	return w.valueOf(t, depth, s)
}

// valueOf walks the value whose header is t.
func (w *budgetWalk) valueOf(t token, depth int, s *shape) error {
	if t.kind == tokenNil || t.kind == tokenScalar {
		return nil
	}
	if s != nil && s.kind == shapePointer {
		if err := w.spend(s.elem.size); err != nil {
			return err
		}
		s = s.elem
	}
	if t.kind == tokenBytes {
		if s != nil && s.kind == shapeBytes {
			return w.spend(int64(t.n))
		}
		return nil
	}
	if depth+1 > maxDecodeDepth {
		return fmt.Errorf("nesting deeper than %d at byte %d", maxDecodeDepth, w.pos)
	}
	if t.kind == tokenMap {
		return w.mapValues(t.n/2, depth, s)
	}
	switch {
	case s == nil, s.kind == shapeStruct:
	case s.kind == shapeList:
		if err := w.spend(int64(t.n) * s.elem.size); err != nil {
			return err
		}
	case s.kind == shapeBytes: // an array of numbers decodes into []byte
		if err := w.spend(int64(t.n)); err != nil {
			return err
		}
		s = nil
	default: // the decoder refuses an array here
		s = nil
	}
	for i := range t.n {
		if w.pos < len(w.b) && isSmallScalar(w.b[w.pos]) { // the short way, without a call
			w.pos++
			continue
		}
		var elem *shape // nil: a field a newer sender added, or nothing known
		switch {
		case s == nil:
		case s.kind == shapeList:
			elem = s.elem
		case i < len(s.fields):
			elem = s.fields[i]
		}
		if elem != nil && elem.kind == shapeBytes && w.pos+1 < len(w.b) {
			// A string or byte string of up to 255 bytes, without a call.
			var n int
			switch c := w.b[w.pos]; {
			case c >= 0xa0 && c <= 0xbf:
				n = int(c & 0x1f)
				w.pos++
			case c == 0xc4 || c == 0xd9:
				n = int(w.b[w.pos+1])
				w.pos += 2
			default:
				n = -1
			}
			if n >= 0 {
				if err := w.take(n); err != nil {
					return err
				}
				if err := w.spend(int64(n)); err != nil {
					return err
				}
				continue
			}
		}
		if err := w.value(depth+1, elem); err != nil {
			return err
		}
	}
	return nil
}

// mapValues walks the pairs of a map that decodes into s: a struct by
// field name, or nothing the decoder accepts.
func (w *budgetWalk) mapValues(pairs, depth int, s *shape) error {
	for range pairs {
		key, err := w.next()
		if err != nil {
			return err
		}
		var field *shape
		if key.kind == tokenBytes && s != nil && s.kind == shapeStruct {
			if i, ok := s.names[string(w.b[w.pos-key.n:w.pos])]; ok {
				field = s.fields[i]
			}
		} else if err := w.valueOf(key, depth+1, nil); err != nil {
			return err
		}
		if err := w.value(depth+1, field); err != nil {
			return err
		}
	}
	return nil
}
