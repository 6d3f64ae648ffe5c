package chain

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MaxMessageSize is the largest encoded message DecodeMessage accepts.
const MaxMessageSize = 64 << 20

// newMsgpackHandle returns the msgpack settings of the wire format.
func newMsgpackHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.WriteExt = true
	// Bound what a length prefix can make the decoder allocate up front.
	h.MaxInitLen = 4096
	return h
}

// wireHandle is immutable after initialisation and safe for concurrent use.
var wireHandle = newMsgpackHandle()

// Encoders and decoders are costly to create and cheap to reset; these
// pools hold idle ones. They carry no state between uses.
var (
	encoderPool = sync.Pool{New: func() any { return codec.NewEncoderBytes(nil, wireHandle) }}
	decoderPool = sync.Pool{New: func() any { return codec.NewDecoderBytes(nil, wireHandle) }}
)

// EncodeMessage appends the wire encoding of msg to dst and returns the
// extended slice: one byte of MessageKind, then the message as msgpack.
func EncodeMessage(dst []byte, msg Message) ([]byte, error) {
	if msg == nil {
		return dst, fmt.Errorf("encode message: %w: nil message", ErrInvalidArgument)
	}
	dst = append(dst, byte(msg.Kind()))
	// The encoder writes from the start of the slice it is given; give it
	// dst's spare capacity so the common case needs no copy.
	body := dst[len(dst):]
	enc := encoderPool.Get().(*codec.Encoder)
	enc.ResetBytes(&body)
	err := enc.Encode(msg)
	enc.ResetBytes(nil)
	encoderPool.Put(enc)
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
