// Package histogram records operation latencies in an HDR histogram and
// turns them into the summary that benchit and bench/raftcompare print as
// text or as one JSON object.
//
// A Histogram is not safe for concurrent use: give every goroutine that
// records its own and Merge them when the goroutines are done.
package histogram

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Range and precision of every Histogram: latencies from 1µs to
// MaxLatency at 3 significant digits (a recorded value is within 0.1% of
// the true one). Longer latencies are recorded as MaxLatency.
const (
	MaxLatency        = time.Minute
	significantDigits = 3
)

// Histogram records latencies in microseconds. Its zero value is not
// usable: create it with New. It is not safe for concurrent use.
type Histogram struct {
	h        *hdrhistogram.Histogram
	max      time.Duration // exact, unlike the histogram's bucketed maximum
	sum      time.Duration
	clamped  int64 // values above MaxLatency, recorded as MaxLatency
	recorded int64
}

// New returns an empty Histogram (about 140 KB of counters).
func New() *Histogram {
	return &Histogram{h: hdrhistogram.New(1, MaxLatency.Microseconds(), significantDigits)}
}

// Record adds one latency. Values below 1µs count as 1µs and values above
// MaxLatency as MaxLatency; Record never fails.
func (h *Histogram) Record(d time.Duration) {
	h.recorded++
	h.sum += d
	h.max = max(h.max, d)
	us := d.Microseconds()
	switch {
	case us < 1:
		us = 1
	case d > MaxLatency:
		us = MaxLatency.Microseconds()
		h.clamped++
	}
	_ = h.h.RecordValue(us) // within range by construction
}

// Merge adds every value recorded in o to h. o is unchanged.
func (h *Histogram) Merge(o *Histogram) {
	h.h.Merge(o.h)
	h.recorded += o.recorded
	h.sum += o.sum
	h.max = max(h.max, o.max)
	h.clamped += o.clamped
}

// Count returns the number of recorded values.
func (h *Histogram) Count() int64 { return h.recorded }

// Percentile returns the latency at or below which p percent (0 to 100)
// of the recorded values lie, within the histogram's precision; zero when
// nothing was recorded.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.recorded == 0 {
		return 0
	}
	v := time.Duration(h.h.ValueAtQuantile(p)) * time.Microsecond
	return min(v, max(h.max, time.Microsecond)) // the bucket's top may exceed the true maximum
}

// Max returns the largest recorded latency, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean recorded latency; zero when nothing was recorded.
func (h *Histogram) Mean() time.Duration {
	if h.recorded == 0 {
		return 0
	}
	return h.sum / time.Duration(h.recorded)
}

// Summary is the result of one benchmark run. Ops counts operations that
// succeeded and Errors those that failed; the latency fields describe the
// successful ones only. Field names are the JSON keys both benchit and
// raftcompare print, so their outputs can be compared field by field.
type Summary struct {
	Mode          string  `json:"mode"`
	OpsPerSec     float64 `json:"ops_per_sec"`
	Ops           int64   `json:"ops"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
	DurationSec   float64 `json:"duration_sec"`
	Workers       int     `json:"workers"`
	Inflight      int     `json:"inflight"`
	Size          int     `json:"size"`
	QueryFraction float64 `json:"query_fraction"`
	Queries       int64   `json:"queries"`
	MeanMs        float64 `json:"mean_ms"`
	P50Ms         float64 `json:"p50_ms"`
	P90Ms         float64 `json:"p90_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P999Ms        float64 `json:"p999_ms"`
	MaxMs         float64 `json:"max_ms"`
	// CPUMsPer1000 is the process's CPU time (user and system, local
	// cluster included) per 1,000 successful operations, in milliseconds;
	// 0 when unknown.
	CPUMsPer1000 float64 `json:"cpu_ms_per_1000_ops"`
	// Clamped counts latencies above MaxLatency, recorded as MaxLatency.
	Clamped int64 `json:"clamped,omitempty"`
}

// Run describes a run for Summarize.
type Run struct {
	Mode          string
	Workers       int // clients (benchit) or load generators (raftcompare)
	Inflight      int // requests in flight per worker
	Size          int // payload bytes
	QueryFraction float64
	Elapsed       time.Duration // from the first request to the last answer
	CPU           time.Duration // the process's CPU time meanwhile, 0 if unknown
	Errors        int64
	FirstError    error
	Queries       int64 // successful queries, included in the histogram
}

// Summarize computes the summary of a run whose successful operations'
// latencies are in h.
func Summarize(r Run, h *Histogram) Summary {
	s := Summary{
		Mode:          r.Mode,
		Ops:           h.Count(),
		Errors:        r.Errors,
		DurationSec:   r.Elapsed.Seconds(),
		Workers:       r.Workers,
		Inflight:      r.Inflight,
		Size:          r.Size,
		QueryFraction: r.QueryFraction,
		Queries:       r.Queries,
		MeanMs:        ms(h.Mean()),
		P50Ms:         ms(h.Percentile(50)),
		P90Ms:         ms(h.Percentile(90)),
		P99Ms:         ms(h.Percentile(99)),
		P999Ms:        ms(h.Percentile(99.9)),
		MaxMs:         ms(h.Max()),
		Clamped:       h.clamped,
	}
	if r.FirstError != nil {
		s.FirstError = r.FirstError.Error()
	}
	if r.Elapsed > 0 {
		s.OpsPerSec = float64(s.Ops) / r.Elapsed.Seconds()
	}
	if s.Ops > 0 {
		s.CPUMsPer1000 = float64(r.CPU.Microseconds()) / float64(s.Ops)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteJSON writes s as one JSON object on one line.
func (s Summary) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// WriteText writes s for people, a few lines.
func (s Summary) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "mode %s: %d workers x %d in flight, %d-byte payloads, %.0f%% queries\n"+
		"%d ops in %.2fs: %.0f ops/s, %d errors\n"+
		"latency ms: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n"+
		"cpu: %.1f ms per 1,000 ops\n",
		s.Mode, s.Workers, s.Inflight, s.Size, 100*s.QueryFraction,
		s.Ops, s.DurationSec, s.OpsPerSec, s.Errors,
		s.MeanMs, s.P50Ms, s.P90Ms, s.P99Ms, s.P999Ms, s.MaxMs, s.CPUMsPer1000)
	if err == nil && s.FirstError != "" {
		_, err = fmt.Fprintf(w, "first error: %s\n", s.FirstError)
	}
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}
