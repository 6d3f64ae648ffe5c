package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryMessageGoesRoundTheLoop: with a count, every message sent comes
// back, in order, one in flight or many, and the summary counts them.
func TestEveryMessageGoesRoundTheLoop(t *testing.T) {
	for _, inflight := range []string{"1", "7", "256"} {
		var out, errOut bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"-c", inflight, "-n", "3000", "-size", "100", "-json"}, &out, &errOut), errOut.String())
		var s map[string]any
		require.NoError(t, json.Unmarshal(out.Bytes(), &s), out.String())
		require.EqualValues(t, 3000, s["ops"], "-c %s", inflight)
		require.EqualValues(t, 0, s["errors"])
		require.Equal(t, "floor-4hop", s["mode"])
		require.Positive(t, s["p50_ms"])
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{{"-c", "0"}, {"-size", "7"}, {"-n", "-1"}, {"-d", "0s"}, {"extra"}} {
		var out, errOut bytes.Buffer
		require.Error(t, run(context.Background(), args, &out, &errOut), "%q", args)
	}
}
