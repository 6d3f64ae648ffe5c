package metrics

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one gathered series: its metric name, labels and value (for
// a histogram, its count of observations).
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Gather gathers g and returns its series, for tests and tools that read
// a registry.
func Gather(g prometheus.Gatherer) ([]Sample, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	return samples(mfs), nil
}

// ParseText parses metrics in the Prometheus text format, as a /metrics
// endpoint serves them, and returns their series.
func ParseText(r io.Reader) ([]Sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	mfs := make([]*dto.MetricFamily, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		mfs = append(mfs, byName[name])
	}
	return samples(mfs), nil
}

func samples(mfs []*dto.MetricFamily) []Sample {
	var out []Sample
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := Sample{Name: mf.GetName(), Labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			switch {
			case m.Gauge != nil:
				s.Value = m.GetGauge().GetValue()
			case m.Counter != nil:
				s.Value = m.GetCounter().GetValue()
			case m.Histogram != nil:
				s.Value = float64(m.GetHistogram().GetSampleCount())
			case m.Untyped != nil:
				s.Value = m.GetUntyped().GetValue()
			}
			out = append(out, s)
		}
	}
	return out
}

// Find returns the value of the series called name whose labels include
// want, and false if there is none. With several matches it returns the
// first.
func Find(samples []Sample, name string, want map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.Name == name && matches(s.Labels, want) {
			return s.Value, true
		}
	}
	return 0, false
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Names returns the metric names described by the collectors, sorted.
// Histograms are named without their _bucket, _sum and _count suffixes.
func Names(cs ...prometheus.Collector) []string {
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range cs {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		names[descName(d)] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// descName extracts the fully-qualified name from a descriptor, which
// offers it only in its String form: Desc{fqName: "chain_x", ...}.
func descName(d *prometheus.Desc) string {
	s := d.String()
	_, rest, ok := strings.Cut(s, `fqName: "`)
	if !ok {
		return s
	}
	name, _, _ := strings.Cut(rest, `"`)
	return name
}
