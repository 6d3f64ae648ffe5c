package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/wire"
)

func sampleMessages() []chain.Message {
	return []chain.Message{
		&wire.ClientRequest{Op: wire.OpCommand, ID: 1, Acked: 1, Epoch: 2, Name: "upper", Data: []byte("x"), From: 3, Max: 4},
		&wire.ClientResponse{ID: 1, Err: &chain.RemoteError{Code: wire.CodeNotHead, Redirect: "h"}, Offset: 5, Result: []byte("X"),
			Entries: []chain.Entry{{Offset: 1, Epoch: 1, Client: "c", Seq: 1, Command: "upper", Data: []byte("x")}}},
		&wire.PullRequest{Epoch: 1, Run: 2, Next: 2, Commit: 3, MaxBytes: 4},
		&wire.PullResponse{Epoch: 1, From: 2, Commit: 3, Entries: []chain.Entry{{Offset: 2, Epoch: 1, Data: []byte("y")}}},
		&wire.CommitNotice{Epoch: 1, Commit: 9},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var stream []byte
	stream = appendHelloFrame(stream, "127.0.0.1:7000")
	stream = appendPingFrame(stream)
	var err error
	for _, m := range sampleMessages() {
		stream, err = appendMessageFrame(stream, m, wire.MaxMessageSize)
		require.NoError(t, err)
	}
	fr := newFrameReader(bytes.NewReader(stream), wire.MaxMessageSize)
	p, err := fr.next()
	require.NoError(t, err)
	addr, err := parseHello(p)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7000", addr)

	p, err = fr.next()
	require.NoError(t, err)
	msg, err := decodeFrame(p)
	require.NoError(t, err)
	require.Nil(t, msg, "ping carries no message")

	for _, want := range sampleMessages() {
		p, err := fr.next()
		require.NoError(t, err)
		got, err := decodeFrame(p)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err = fr.next()
	require.ErrorIs(t, err, io.EOF, "clean end between frames")
}

func TestFrameLargeReadInChunks(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16)
	frame, err := appendMessageFrame(nil, &wire.ClientRequest{ID: 7, Data: data}, wire.MaxMessageSize)
	require.NoError(t, err)
	fr := newFrameReader(bytes.NewReader(frame), wire.MaxMessageSize)
	p, err := fr.next()
	require.NoError(t, err)
	require.Equal(t, frame[headerSize:], p)
	require.Zero(t, cap(fr.buf), "a frame above keepBufSize is not kept")
}

func header(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func TestFrameReaderErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"zero length":      {header(0), errBadFrame},
		"over the limit":   {header(1<<16 + 1), chain.ErrTooLarge},
		"1 GiB":            {header(1 << 30), chain.ErrTooLarge},
		"max uint32":       {header(1<<32 - 1), chain.ErrTooLarge},
		"truncated header": {[]byte{0, 0}, io.ErrUnexpectedEOF},
		"truncated body":   {append(header(10), 1, 2, 3), io.ErrUnexpectedEOF},
		"empty":            {nil, io.EOF},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newFrameReader(bytes.NewReader(tc.in), 1<<16).next()
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestOversizedFrameAllocatesNothing checks that a header announcing 1 GiB
// is refused before anything is allocated for the frame, and that a frame
// whose length is within the limit but whose bytes never come costs no
// more than the bytes that came.
func TestOversizedFrameAllocatesNothing(t *testing.T) {
	in := bytes.NewReader(nil)
	fr := newFrameReader(in, wire.MaxMessageSize)
	hdr := header(1 << 30)
	allocs := testing.AllocsPerRun(100, func() {
		in.Reset(hdr)
		_, err := fr.next()
		if !errors.Is(err, chain.ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	// Only the error value and its formatting allocate.
	require.LessOrEqual(t, allocs, 8.0)
	require.Less(t, testutil.AllocatedBy(func() {
		for range 100 {
			in.Reset(hdr)
			_, _ = fr.next()
		}
	}), uint64(1<<20))

	// 15 MiB announced (within the limit), 10 bytes sent: no 15 MiB buffer.
	lying := append(header(15<<20), make([]byte, 10)...)
	require.Less(t, testutil.AllocatedBy(func() {
		_, err := newFrameReader(bytes.NewReader(lying), wire.MaxMessageSize).next()
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	}), uint64(2*keepBufSize))
}

func TestAppendMessageFrameTooLarge(t *testing.T) {
	dst := []byte("keep")
	out, err := appendMessageFrame(dst, &wire.ClientRequest{Data: make([]byte, 2048)}, 1024)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	require.Equal(t, []byte("keep"), out)
	_, err = appendMessageFrame(nil, nil, 1024)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

func TestParseHelloErrors(t *testing.T) {
	good := appendHelloFrame(nil, "a:1")[headerSize:]
	_, err := parseHello(good)
	require.NoError(t, err)
	for name, p := range map[string][]byte{
		"empty":       {},
		"message":     {byte(wire.KindCommitNotice), 0x80},
		"bad magic":   {frameHello, 'x', 'h', 'n', helloVersion, 'a'},
		"bad version": {frameHello, 'c', 'h', 'n', 99, 'a'},
		"no address":  {frameHello, 'c', 'h', 'n', helloVersion},
		"long address": append([]byte{frameHello, 'c', 'h', 'n', helloVersion},
			strings.Repeat("a", maxAddrLen+1)...),
	} {
		_, err := parseHello(p)
		require.ErrorIs(t, err, errBadFrame, name)
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	for name, p := range map[string][]byte{
		"hello after the first frame": appendHelloFrame(nil, "a:1")[headerSize:],
		"long ping":                   {framePing, 0},
		"unknown control frame":       {0xfe},
	} {
		_, err := decodeFrame(p)
		require.ErrorIs(t, err, errBadFrame, name)
	}
	_, err := decodeFrame([]byte{0x7f, 0x80})
	require.ErrorIs(t, err, chain.ErrInvalidArgument, "unknown message kind")
	_, err = decodeFrame([]byte{byte(wire.KindClientRequest), 0xc1})
	require.Error(t, err, "malformed msgpack")
}

func TestClientAddr(t *testing.T) {
	a := newClientAddr()
	require.True(t, IsClientAddr(a), a)
	require.NotEqual(t, a, newClientAddr())
	require.NoError(t, checkPeerAddr(a))
	for _, s := range []string{"", "client-", "client-1", "client-" + strings.Repeat("A", 32), "127.0.0.1:7000", "x" + a[1:], a + "0"} {
		require.False(t, IsClientAddr(s), s)
	}
	require.NoError(t, checkPeerAddr("127.0.0.1:7000"))
	require.ErrorIs(t, checkPeerAddr("nowhere"), chain.ErrInvalidArgument)
}

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	b := backoff{min: 10 * ms, max: 100 * ms}
	require.Zero(t, b.delay())
	var got []time.Duration
	for range 6 {
		b.failed()
		got = append(got, b.delay())
	}
	require.Equal(t, []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 100 * ms, 100 * ms}, got)
	b.succeeded()
	require.Zero(t, b.delay())

	// No minimum: the first retry waits a millisecond.
	b = backoff{max: 100 * ms}
	b.failed()
	require.Equal(t, ms, b.delay())
}
