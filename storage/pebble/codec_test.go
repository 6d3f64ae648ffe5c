package pebble

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func codecCases() []chain.Entry {
	return []chain.Entry{
		{},
		{Offset: 1},
		{Offset: 2, Epoch: 3, Client: "client-1", Seq: 9, Acked: 8, Command: "put", Data: []byte("payload")},
		{Offset: math.MaxUint64, Epoch: math.MaxUint64, Seq: math.MaxUint64, Acked: math.MaxUint64},
		{Offset: 5, Client: "klient-✓", Command: "cmd\x00odd", Data: []byte{0}},
		{Offset: 6, Data: bytes.Repeat([]byte("0123456789abcdef"), 1<<12)},
		{Offset: 7, Client: "c", Session: 5, Seq: 2, Acked: 1, Since: 6, Time: 1_700_000_000_123_456_789, Data: []byte("stamped")},
		{Offset: 8, Since: math.MaxUint64, Time: math.MinInt64},
		{Offset: 9, Time: -1},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	var alloc slab
	for _, e := range codecCases() {
		rec := appendEntry([]byte("prefix"), &e)[len("prefix"):]
		require.LessOrEqual(t, len(rec), encodedEntrySize(&e))
		got, err := decodeEntry(rec, &alloc)
		require.NoError(t, err)
		requireEntryEqual(t, e, got)
		for i := range rec {
			rec[i] ^= 0xff // the decoded entry shares no memory with rec
		}
		requireEntryEqual(t, e, got)
	}
}

func TestEntryEncodingIsCompact(t *testing.T) {
	e := chain.Entry{Offset: 1 << 20, Epoch: 3, Client: "client-1", Session: 1 << 40, Seq: 1000, Acked: 999, Command: "put", Data: make([]byte, 100)}
	// frame 5, offset 3, epoch 1, session 6, seq 2, acked 2, client 1+8, command 1+3, data 100
	require.Equal(t, 5+3+1+6+2+2+1+8+1+3+100, len(appendEntry(nil, &e)))
}

func TestDecodeEntryRejectsEveryBitFlip(t *testing.T) {
	for _, e := range []chain.Entry{
		{Offset: 7, Epoch: 2, Client: "c", Seq: 3, Acked: 2, Command: "put", Data: []byte("data")},
		{Offset: 7, Epoch: 2, Client: "c", Seq: 3, Acked: 2, Since: 4, Time: 5, Command: "put", Data: []byte("data")},
	} {
		requireEveryBitFlipRejected(t, e)
	}
}

func requireEveryBitFlipRejected(t *testing.T, e chain.Entry) {
	t.Helper()
	rec := appendEntry(nil, &e)
	for i := range rec {
		for bit := range 8 {
			bad := bytes.Clone(rec)
			bad[i] ^= 1 << bit
			_, err := decodeEntry(bad, nil)
			require.ErrorIs(t, err, ErrCorrupt, "byte %d bit %d", i, bit)
		}
	}
	for n := range len(rec) {
		_, err := decodeEntry(rec[:n], nil)
		require.ErrorIs(t, err, ErrCorrupt, "truncated to %d bytes", n)
	}
}

func TestDecodeEntryRejectsMalformedBodies(t *testing.T) {
	record := func(body ...byte) []byte { return seal(append(beginRecord(nil), body...)) }
	for name, rec := range map[string][]byte{
		"empty body":          record(),
		"overlong varint":     record(0x81, 0x00, 0, 0, 0, 0, 0),
		"client past the end": record(1, 0, 0, 0, 5, 'a'),
		"no command length":   record(1, 0, 0, 0, 0),
		"varint overflow":     record(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	} {
		_, err := decodeEntry(rec, nil)
		require.ErrorIs(t, err, ErrCorrupt, name)
	}
}

func TestMetaAndFirstOffsetRoundTrip(t *testing.T) {
	for _, v := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0xff}, 600)} {
		got, err := decodeMeta(appendMeta(nil, v))
		require.NoError(t, err)
		require.Equal(t, len(v), len(got))
		require.Equal(t, string(v), string(got))
	}
	for _, first := range []uint64{1, 2, 1 << 40, math.MaxUint64} {
		got, err := decodeFirstOffset(appendFirstOffset(nil, first))
		require.NoError(t, err)
		require.Equal(t, first, got)
	}
	_, err := decodeFirstOffset(appendFirstOffset(nil, 0))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = decodeFirstOffset(seal(append(appendFirstOffset(nil, 5), 0)))
	require.ErrorIs(t, err, ErrCorrupt, "trailing byte")
}

func TestSlabCopiesDoNotOverlap(t *testing.T) {
	var alloc slab
	var got [][]byte
	for i := range 300 {
		got = append(got, alloc.copy(bytes.Repeat([]byte{byte(i)}, i%40+1)))
	}
	for i, b := range got {
		require.Equal(t, len(b), cap(b), "copy %d", i)
		_ = append(b, 0xee) // must not write into the next copy
	}
	for i, b := range got {
		require.Equal(t, bytes.Repeat([]byte{byte(i)}, i%40+1), b, "copy %d", i)
	}
	require.Nil(t, alloc.copy(nil))
	big := make([]byte, maxSlabChunk)
	require.Equal(t, big, alloc.copy(big))
}

// FuzzDecodeEntry checks that decoding never panics, that it rejects
// what it does not decode with ErrCorrupt, and that whatever decodes
// encodes back to the same bytes (the encoding is canonical). The input is
// an entry body; it is sealed with a valid header and checksum, so the
// fuzzer explores the body's decoder rather than the checksum.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range codecCases() {
		f.Add(appendEntry(nil, &e)[headerLen:])
	}
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := seal(append(beginRecord(nil), body...))
		e, err := decodeEntry(rec, nil)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		require.Equal(t, rec, appendEntry(nil, &e))
	})
}
