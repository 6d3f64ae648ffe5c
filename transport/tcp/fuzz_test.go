package tcp

import (
	"bytes"
	"testing"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// fuzzMaxFrame is the frame limit of FuzzFrameDecode: small, so that the
// fuzzer reaches it.
const fuzzMaxFrame = 1 << 16

// FuzzFrameDecode feeds arbitrary bytes to the frame reader and the frame
// decoder, as a peer could. It checks that nothing panics, that no frame
// buffer exceeds the limit, and that every frame that decodes survives a
// round trip: re-encoding the decoded value and decoding it again gives the
// same value (compared by its canonical encoding, since the codec may turn
// an empty slice into nil).
func FuzzFrameDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		frame, err := appendMessageFrame(nil, m, fuzzMaxFrame)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame)
	}
	f.Add(appendPingFrame(appendHelloFrame(nil, "127.0.0.1:7000")))
	f.Add(header(1 << 30))

	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data), fuzzMaxFrame)
		for range 1000 { // bounded: each frame consumes at least 5 bytes anyway
			p, err := fr.next()
			if err != nil {
				return
			}
			if len(p) == 0 || len(p) > fuzzMaxFrame || cap(p) > fuzzMaxFrame {
				t.Fatalf("frame of len %d, cap %d: limit is %d", len(p), cap(p), fuzzMaxFrame)
			}
			if p[0] == frameHello {
				addr, err := parseHello(p)
				if err != nil {
					continue
				}
				if again, err := parseHello(appendHelloFrame(nil, addr)[headerSize:]); err != nil || again != addr {
					t.Fatalf("hello %q: round trip gave %q, %v", addr, again, err)
				}
				continue
			}
			msg, err := decodeFrame(p)
			if err != nil || msg == nil {
				continue
			}
			checkRoundTrip(t, msg)
		}
	})
}

// checkRoundTrip checks that msg encodes, and that its encoding decodes to
// a message with the same encoding.
func checkRoundTrip(t *testing.T, msg chain.Message) {
	t.Helper()
	enc, err := appendMessageFrame(nil, msg, wire.MaxMessageSize)
	if err != nil {
		t.Fatalf("re-encode %#v: %v", msg, err)
	}
	p, err := newFrameReader(bytes.NewReader(enc), wire.MaxMessageSize).next()
	if err != nil {
		t.Fatalf("re-read %#v: %v", msg, err)
	}
	again, err := decodeFrame(p)
	if err != nil {
		t.Fatalf("decode of re-encoded %#v: %v", msg, err)
	}
	if again.Kind() != msg.Kind() {
		t.Fatalf("kind changed: %v then %v", msg.Kind(), again.Kind())
	}
	enc2, err := appendMessageFrame(nil, again, wire.MaxMessageSize)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("round trip changed the message:\n%#v\n%#v (%v)", msg, again, err)
	}
}
