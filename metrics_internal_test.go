package chain

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/metrics"
	"github.com/chainrep/chain/wire"
)

// hopSamples returns the count and sum (in seconds) the histogram holds.
func hopSamples(t *testing.T, h prometheus.Histogram) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	require.NoError(t, h.Write(&m))
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

func TestHopClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name      string
		run       func(h *hopClock)
		wantCount uint64
		wantSum   float64
	}{
		{"one send acked", func(h *hopClock) {
			h.sent(10, ms(0))
			h.acked(10, ms(3))
		}, 1, 0.003},
		{"ack below the send times nothing", func(h *hopClock) {
			h.sent(10, ms(0))
			h.acked(9, ms(3))
		}, 0, 0},
		{"one ack covers two sends", func(h *hopClock) {
			h.sent(10, ms(0))
			h.sent(20, ms(1))
			h.acked(25, ms(5))
		}, 2, 0.009},
		{"a resend forgets the older sends", func(h *hopClock) {
			h.sent(10, ms(0))
			h.sent(20, ms(1))
			h.sent(15, ms(2)) // the stream restarted from below 20
			h.acked(20, ms(4))
		}, 1, 0.002},
		{"a full ring drops the oldest", func(h *hopClock) {
			for i := range hopSlots + 2 {
				h.sent(uint64(i+1), ms(i))
			}
			h.acked(hopSlots+2, ms(20))
		}, hopSlots, 0},
		{"acks are not timed twice", func(h *hopClock) {
			h.sent(10, ms(0))
			h.acked(10, ms(1))
			h.acked(10, ms(2))
		}, 1, 0.001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hopClock{hist: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"})}
			tt.run(h)
			count, sum := hopSamples(t, h.hist)
			require.Equal(t, tt.wantCount, count)
			if tt.wantSum > 0 {
				require.InDelta(t, tt.wantSum, sum, 1e-9)
			}
		})
	}
}

// TestHopClockDoesNotAllocate: timing a hop is on the replication path.
func TestHopClockDoesNotAllocate(t *testing.T) {
	h := &hopClock{hist: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"})}
	now := time.Now()
	var off uint64
	allocs := testing.AllocsPerRun(1000, func() {
		off++
		h.sent(off, now)
		h.acked(off, now)
	})
	require.Zero(t, allocs)
}

// TestRefusalReasons: a code without a reason of its own counts as other.
func TestRefusalReasons(t *testing.T) {
	var m nodeMetrics
	m.refused(wire.CodeBusy)
	m.refused(wire.CodeCommandFailed) // not a refusal code
	m.refused(wire.Code(200))         // unknown to this release
	m.refused(wire.CodeOK)
	require.Equal(t, uint64(1), m.refusals[wire.CodeBusy].Load())
	require.Equal(t, uint64(3), m.refusals[numRefusalReasons-1].Load())
	require.Equal(t, "other", refusalReasons[numRefusalReasons-1])
}

// BenchmarkHopClock measures the instrumentation one replication
// response costs: the send time noted, the acknowledgment timed.
func BenchmarkHopClock(b *testing.B) {
	h := &hopClock{hist: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"})}
	b.ReportAllocs()
	var off uint64
	for b.Loop() {
		off++
		h.sent(off, time.Now())
		h.acked(off, time.Now())
	}
}

// BenchmarkStorageAppendTiming measures what timing one Storage.Append
// adds: two clock reads and a histogram observation.
func BenchmarkStorageAppendTiming(b *testing.B) {
	m := newNodeMetrics(prometheus.Labels{"chain": "", "node": "n1"})
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		metrics.Since(m.storageAppend, start)
	}
}
