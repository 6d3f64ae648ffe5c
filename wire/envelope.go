package wire

import (
	"encoding/binary"
	"fmt"
)

// Envelope carries a message between two sub-addresses of transport
// endpoints: a server hosting replicas of many chains listens once, and
// the envelope names the replica (the chain) a message is for and the one
// it comes from. See transport/mux. An envelope never holds another.
type Envelope struct {
	From string // the sender's sub-address ("" for the endpoint itself)
	To   string // the receiver's sub-address
	Msg  Message
}

// Kind implements Message.
func (*Envelope) Kind() MessageKind { return KindEnvelope }

// maxSubAddr bounds the length of an envelope's sub-addresses.
const maxSubAddr = 1 << 10

// encodeEnvelope appends env's encoding to dst: the kind byte, each
// sub-address as a length-prefixed string, then the message as
// EncodeMessage encodes it.
func encodeEnvelope(dst []byte, env *Envelope) ([]byte, error) {
	if env.Msg == nil {
		return dst, fmt.Errorf("encode envelope: %w: no message", CodeInvalidArgument)
	}
	if _, nested := env.Msg.(*Envelope); nested {
		return dst, fmt.Errorf("encode envelope: %w: an envelope in an envelope", CodeInvalidArgument)
	}
	if len(env.From) > maxSubAddr || len(env.To) > maxSubAddr {
		return dst, fmt.Errorf("encode envelope: %w: sub-address over %d bytes", CodeInvalidArgument, maxSubAddr)
	}
	n := len(dst)
	dst = append(dst, byte(KindEnvelope))
	dst = binary.AppendUvarint(dst, uint64(len(env.From)))
	dst = append(dst, env.From...)
	dst = binary.AppendUvarint(dst, uint64(len(env.To)))
	dst = append(dst, env.To...)
	out, err := EncodeMessage(dst, env.Msg)
	if err != nil {
		return dst[:n], fmt.Errorf("encode envelope: %w", err)
	}
	return out, nil
}

// decodeEnvelope decodes the body of an envelope (after its kind byte).
func decodeEnvelope(b []byte) (*Envelope, error) {
	from, b, err := subAddr(b)
	if err != nil {
		return nil, err
	}
	to, b, err := subAddr(b)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && MessageKind(b[0]) == KindEnvelope {
		return nil, fmt.Errorf("decode envelope: %w: an envelope in an envelope", CodeInvalidArgument)
	}
	msg, err := DecodeMessage(b)
	if err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	return &Envelope{From: from, To: to, Msg: msg}, nil
}

// subAddr reads one length-prefixed sub-address off b.
func subAddr(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxSubAddr || n > uint64(len(b)-k) {
		return "", nil, fmt.Errorf("decode envelope: %w: bad sub-address", CodeInvalidArgument)
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}
