package histogram

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentilesAndMerge(t *testing.T) {
	a, b := New(), New()
	for i := 1; i <= 1000; i++ {
		h := a
		if i%2 == 0 {
			h = b
		}
		h.Record(time.Duration(i) * time.Millisecond)
	}
	a.Merge(b)
	require.EqualValues(t, 1000, a.Count())
	within := func(want, got time.Duration) {
		t.Helper()
		require.InDelta(t, float64(want), float64(got), float64(want)/500, "want %v got %v", want, got)
	}
	within(500*time.Millisecond, a.Percentile(50))
	within(900*time.Millisecond, a.Percentile(90))
	within(990*time.Millisecond, a.Percentile(99))
	within(999*time.Millisecond, a.Percentile(99.9))
	require.Equal(t, time.Second, a.Max())
	require.Equal(t, 500500*time.Microsecond, a.Mean())
}

func TestRecordClampsAndEmpty(t *testing.T) {
	h := New()
	require.Zero(t, h.Percentile(50))
	require.Zero(t, h.Mean())
	h.Record(0)
	h.Record(2 * MaxLatency)
	require.EqualValues(t, 2, h.Count())
	require.Equal(t, 2*MaxLatency, h.Max(), "the maximum is exact")
	require.LessOrEqual(t, h.Percentile(100), 2*MaxLatency)
	s := Summarize(Run{Mode: "m", Elapsed: time.Second}, h)
	require.EqualValues(t, 1, s.Clamped)
}

func TestSummaryJSON(t *testing.T) {
	h := New()
	for range 10 {
		h.Record(2 * time.Millisecond)
	}
	s := Summarize(Run{Mode: "chain-mem", Workers: 2, Inflight: 3, Size: 4, Elapsed: 2 * time.Second,
		CPU: 30 * time.Millisecond, Errors: 1, FirstError: errors.New("boom")}, h)
	var buf bytes.Buffer
	require.NoError(t, s.WriteJSON(&buf))
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	for _, k := range []string{"ops_per_sec", "ops", "errors", "duration_sec", "workers", "inflight", "size",
		"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mode", "cpu_ms_per_1000_ops"} {
		require.Contains(t, m, k)
	}
	require.EqualValues(t, 5, m["ops_per_sec"])
	require.EqualValues(t, 10, m["ops"])
	require.Equal(t, "boom", m["first_error"])
	require.InDelta(t, 2.0, m["p99_ms"], 0.01)
	require.InDelta(t, 3000.0, m["cpu_ms_per_1000_ops"], 0.001, "30 ms of CPU for 10 operations")
	buf.Reset()
	require.NoError(t, s.WriteText(&buf))
	require.Contains(t, buf.String(), "first error: boom")
	require.Contains(t, buf.String(), "cpu: 3000.0 ms per 1,000 ops")
}
