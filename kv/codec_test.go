package kv

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCodecRoundTrip(t *testing.T) {
	puts := []putRequest{
		{Key: "k", Value: []byte("v")},
		{Key: "k", Value: []byte{}},
		{Key: strings.Repeat("x", MaxKeyLen), Value: bytes.Repeat([]byte{0, 0xff}, 300)},
	}
	for _, want := range puts {
		got, err := decodePut(encodePut(want))
		require.NoError(t, err)
		require.Equal(t, want.Key, got.Key)
		require.Equal(t, string(want.Value), string(got.Value))
	}

	key, err := decodeKey(encodeKey("some/key"))
	require.NoError(t, err)
	require.Equal(t, "some/key", key)

	for _, want := range []casRequest{
		{Key: "k", Expected: []byte("old"), ExpectedFound: true, Value: []byte("new")},
		{Key: "k", ExpectedFound: false, Value: []byte("new")},
	} {
		got, err := decodeCAS(encodeCAS(want))
		require.NoError(t, err)
		require.Equal(t, want.Key, got.Key)
		require.Equal(t, want.ExpectedFound, got.ExpectedFound)
		require.Equal(t, string(want.Expected), string(got.Expected))
		require.Equal(t, string(want.Value), string(got.Value))
	}

	for _, want := range []bool{false, true} {
		got, err := decodeFlag(encodeFlag(want))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	for _, want := range []getResult{{Found: false}, {Found: true, Value: []byte{}}, {Found: true, Value: []byte("v")}} {
		got, err := decodeGetResult(encodeGetResult(want))
		require.NoError(t, err)
		require.Equal(t, want.Found, got.Found)
		require.Equal(t, string(want.Value), string(got.Value))
	}

	for _, want := range []uint64{0, 1, 1 << 40} {
		got, err := decodeCount(encodeCount(want))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestCodecIsCompact(t *testing.T) {
	require.Equal(t, []byte{1, 'k', 1, 'v'}, encodePut(putRequest{Key: "k", Value: []byte("v")}))
	require.Equal(t, []byte{1, 'k', 1, 1, 'o', 1, 'n'},
		encodeCAS(casRequest{Key: "k", Expected: []byte("o"), ExpectedFound: true, Value: []byte("n")}))
	require.Equal(t, []byte{0}, encodeGetResult(getResult{}))
}

func TestCodecMalformed(t *testing.T) {
	longKey := binary.AppendUvarint(nil, MaxKeyLen+1)
	longKey = append(longKey, bytes.Repeat([]byte("k"), MaxKeyLen+1)...)
	hugeLen := binary.AppendUvarint(nil, 1<<62) // must not allocate
	badVarint := bytes.Repeat([]byte{0xff}, 11)

	tests := []struct {
		name   string
		decode func([]byte) error
		input  []byte
	}{
		{"put empty", decodePutErr, nil},
		{"put empty key", decodePutErr, []byte{0, 1, 'v'}},
		{"put key too long", decodePutErr, append(longKey, 0)},
		{"put missing value", decodePutErr, []byte{1, 'k'}},
		{"put truncated value", decodePutErr, []byte{1, 'k', 5, 'v'}},
		{"put huge length", decodePutErr, append(append([]byte{1, 'k'}, hugeLen...), 'v')},
		{"put bad varint", decodePutErr, badVarint},
		{"put trailing", decodePutErr, []byte{1, 'k', 1, 'v', 0}},
		{"key empty", decodeKeyErr, []byte{}},
		{"key zero length", decodeKeyErr, []byte{0}},
		{"key trailing", decodeKeyErr, []byte{1, 'k', 'x'}},
		{"cas missing flag", decodeCASErr, []byte{1, 'k'}},
		{"cas bad flag", decodeCASErr, []byte{1, 'k', 2, 0, 0}},
		{"cas missing value", decodeCASErr, []byte{1, 'k', 1, 0}},
		{"flag empty", decodeFlagErr, nil},
		{"flag bad", decodeFlagErr, []byte{7}},
		{"flag trailing", decodeFlagErr, []byte{1, 1}},
		{"get found without value", decodeGetErr, []byte{1}},
		{"get absent with value", decodeGetErr, []byte{0, 1, 'v'}},
		{"count empty", decodeCountErr, nil},
		{"count overflow", decodeCountErr, badVarint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(tc.input)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func decodePutErr(b []byte) error   { _, err := decodePut(b); return err }
func decodeKeyErr(b []byte) error   { _, err := decodeKey(b); return err }
func decodeCASErr(b []byte) error   { _, err := decodeCAS(b); return err }
func decodeFlagErr(b []byte) error  { _, err := decodeFlag(b); return err }
func decodeGetErr(b []byte) error   { _, err := decodeGetResult(b); return err }
func decodeCountErr(b []byte) error { _, err := decodeCount(b); return err }

// FuzzDecode feeds arbitrary bytes to every decoder: none may panic, and
// whatever one accepts must survive an encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(encodePut(putRequest{Key: "k", Value: []byte("v")}))
	f.Add(encodeKey("key"))
	f.Add(encodeCAS(casRequest{Key: "k", Expected: []byte("e"), ExpectedFound: true, Value: []byte("v")}))
	f.Add(encodeGetResult(getResult{Found: true, Value: []byte("v")}))
	f.Add(encodeCount(300))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodePut(b); err == nil {
			again, err := decodePut(encodePut(r))
			require.NoError(t, err)
			require.Equal(t, r.Key, again.Key)
			require.True(t, bytes.Equal(r.Value, again.Value))
		}
		if k, err := decodeKey(b); err == nil {
			again, err := decodeKey(encodeKey(k))
			require.NoError(t, err)
			require.Equal(t, k, again)
		}
		if r, err := decodeCAS(b); err == nil {
			again, err := decodeCAS(encodeCAS(r))
			require.NoError(t, err)
			require.Equal(t, r.Key, again.Key)
			require.Equal(t, r.ExpectedFound, again.ExpectedFound)
			require.True(t, bytes.Equal(r.Expected, again.Expected))
			require.True(t, bytes.Equal(r.Value, again.Value))
		}
		if v, err := decodeFlag(b); err == nil {
			require.Equal(t, b, encodeFlag(v), "flags have one encoding")
		}
		if r, err := decodeGetResult(b); err == nil {
			again, err := decodeGetResult(encodeGetResult(r))
			require.NoError(t, err)
			require.Equal(t, r.Found, again.Found)
			require.True(t, bytes.Equal(r.Value, again.Value))
		}
		if n, err := decodeCount(b); err == nil {
			again, err := decodeCount(encodeCount(n))
			require.NoError(t, err)
			require.Equal(t, n, again)
		}
	})
}
