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
// sample in codecSamples' order ("type hex"), and each line decodes to its
// sample. A change to a kind number, a field's order or type, or the
// codec's settings shows up here as a changed line; a sample appended to
// codecSamples needs its line appended (the failure prints it). Existing
// lines never change: a message type that gains a field (at the end of
// the struct) is listed in grownSince, and its older lines are then only
// decoded (what an older sender sent still decodes, the new field zero),
// while a sample appended with the new field set pins its encoding now.
func TestEncodingsMatchGolden(t *testing.T) {
	golden, err := os.ReadFile("testdata/encodings.golden")
	require.NoError(t, err)
	want := strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n")
	samples := codecSamples()
	require.Len(t, want, len(samples), "one golden line per sample")
	for i, msg := range samples {
		b, err := wire.EncodeMessage(nil, msg)
		require.NoError(t, err)
		typ, recorded, ok := strings.Cut(want[i], " ")
		require.True(t, ok, "golden line %d", i)
		if i >= grownSince[typ] {
			require.Equal(t, want[i], fmt.Sprintf("%T %s", msg, hex.EncodeToString(b)), "sample %d", i)
		}
		old, err := hex.DecodeString(recorded)
		require.NoError(t, err, "golden line %d", i)
		got, err := wire.DecodeMessage(old)
		require.NoError(t, err, "golden line %d", i)
		require.Equal(t, msg, got, "golden line %d decodes to sample %d", i, i)
	}
}

// grownSince maps a message type that gained fields after golden lines
// of it were recorded to the number of lines recorded before: its samples
// above that index are pinned by decoding alone.
var grownSince = map[string]int{
	// Heartbeat: Sent, the heartbeat's send instant (from 24); Incarnation
	// and Config, the node's storage and configuration (from 26); Links
	// (from 28); Standby, the node's claim to be a standby node (from 31).
	// ConfigUpdate: HeartbeatSent, its echo (from 24); Confirmed, the
	// incarnation whose place the master confirms (from 26); LinkTimeout
	// (from 28); Standby, the master's word that it is one (from 31).
	"*wire.Heartbeat":    31,
	"*wire.ConfigUpdate": 31,
	// Since (ClientRequest) and Since and Time (Entry, in PullResponse,
	// ClientResponse, RequestBatch and Envelope); NodeStatus.Links (in
	// ClientResponse, from 28).
	"*wire.ClientRequest":  28,
	"*wire.PullResponse":   28,
	"*wire.ClientResponse": 28,
	"*wire.RequestBatch":   28,
	"*wire.Envelope":       28,
}
