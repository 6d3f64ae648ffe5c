package wire_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

// TestEncodingsMatchGolden pins the wire format: each sample message
// encodes to the bytes recorded in testdata/encodings.golden, one line per
// sample in codecSamples' order ("type hex"). A change to a kind number, a
// field's order or type, or the codec's settings shows up here as a
// changed line; a sample appended to codecSamples needs its line appended
// (the failure prints it). Existing lines never change.
func TestEncodingsMatchGolden(t *testing.T) {
	golden, err := os.ReadFile("testdata/encodings.golden")
	require.NoError(t, err)
	want := strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n")
	samples := codecSamples()
	require.Len(t, want, len(samples), "one golden line per sample")
	for i, msg := range samples {
		b, err := wire.EncodeMessage(nil, msg)
		require.NoError(t, err)
		require.Equal(t, want[i], fmt.Sprintf("%T %s", msg, hex.EncodeToString(b)), "sample %d", i)
	}
}
