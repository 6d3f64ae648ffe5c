package chain

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MaxMessageSize is the largest encoded message DecodeMessage accepts. It
// bounds the entry size and batch size options, which must leave room for
// a message's other fields.
const MaxMessageSize = 16 << 20

// newMsgpackHandle returns the msgpack settings of the wire format. The
// decoder's initial allocation for a length prefix stays at the codec's
// default bound (256 KiB of bytes, or 4096 elements of a large struct), so
// a forged length cannot make it allocate much before the bytes arrive; a
// longer field grows in 256 KiB steps, which the message size limit keeps
// cheap.
func newMsgpackHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.WriteExt = true
	return h
}

// wireHandle is immutable after initialisation and safe for concurrent use.
var wireHandle = newMsgpackHandle()

// Encoders and decoders are costly to create and cheap to reset; these
// pools hold idle ones. They carry no state between uses.
var (
	encoderPool = sync.Pool{New: func() any { return &pooledEncoder{enc: codec.NewEncoderBytes(nil, wireHandle)} }}
	decoderPool = sync.Pool{New: func() any { return codec.NewDecoderBytes(nil, wireHandle) }}
)

// pooledEncoder keeps the slice the encoder writes to beside it, so that
// handing the encoder its address allocates nothing.
type pooledEncoder struct {
	enc  *codec.Encoder
	body []byte
}

// EncodeMessage appends the wire encoding of msg to dst and returns the
// extended slice: one byte of MessageKind, then the message as msgpack.
func EncodeMessage(dst []byte, msg Message) ([]byte, error) {
	if msg == nil {
		return dst, fmt.Errorf("encode message: %w: nil message", ErrInvalidArgument)
	}
	dst = append(dst, byte(msg.Kind()))
	// The encoder writes from the start of the slice it is given; give it
	// dst's spare capacity so the common case needs no copy.
	pe := encoderPool.Get().(*pooledEncoder)
	pe.body = dst[len(dst):]
	pe.enc.ResetBytes(&pe.body)
	err := pe.enc.Encode(msg)
	body := pe.body
	pe.body = nil
	pe.enc.ResetBytes(&pe.body)
	encoderPool.Put(pe)
	if err != nil {
		return dst[:len(dst)-1], fmt.Errorf("encode %T: %w", msg, err)
	}
	return append(dst, body...), nil
}

// DecodeMessage decodes a message encoded by EncodeMessage. It returns an
// error, never panics, on malformed or oversized input. The message does
// not alias b.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode message: %w: empty", ErrInvalidArgument)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("decode message: %w: %d bytes exceeds %d", ErrTooLarge, len(b), MaxMessageSize)
	}
	msg, err := newMessage(MessageKind(b[0]))
	if err != nil {
		return nil, err
	}
	dec := decoderPool.Get().(*codec.Decoder)
	dec.ResetBytes(b[1:])
	err = dec.Decode(msg)
	dec.ResetBytes(nil)
	decoderPool.Put(dec)
	if err != nil {
		return nil, fmt.Errorf("decode %T: %w", msg, err)
	}
	return msg, nil
}

// newMessage returns an empty message of the given kind.
func newMessage(kind MessageKind) (Message, error) {
	switch kind {
	case KindClientRequest:
		return &ClientRequest{}, nil
	case KindClientResponse:
		return &ClientResponse{}, nil
	case KindPullRequest:
		return &PullRequest{}, nil
	case KindPullResponse:
		return &PullResponse{}, nil
	case KindCommitNotice:
		return &CommitNotice{}, nil
	default:
		return nil, fmt.Errorf("decode message: %w: unknown kind %d", ErrInvalidArgument, kind)
	}
}
