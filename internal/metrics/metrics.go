// Package metrics builds the Prometheus collectors of the chain packages:
// collectors that read a component's counters and state when they are
// scraped, under names that start with "chain_". It keeps no registry of
// its own; an embedding program registers the collectors on its
// registry.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "chain"

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histograms: 25µs doubling to about 3.3s.
var LatencyBuckets = prometheus.ExponentialBuckets(25e-6, 2, 18)

// NewLatencyHistogram returns an unregistered histogram of durations in
// seconds named chain_<subsystem>_<name>, with LatencyBuckets. Observe
// does not allocate.
func NewLatencyHistogram(subsystem, name, help string, constLabels prometheus.Labels) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: name, Help: help,
		ConstLabels: constLabels, Buckets: LatencyBuckets,
	})
}

// Since observes the time since start, in seconds, on o if o is not nil.
func Since(o prometheus.Observer, start time.Time) {
	if o != nil {
		o.Observe(time.Since(start).Seconds())
	}
}

// Builder makes the descriptors of one collector, all with the same
// constant labels, and remembers them for Describe.
type Builder struct {
	subsystem string
	labels    prometheus.Labels
	descs     []*prometheus.Desc
}

// NewBuilder starts the descriptors of metrics named
// chain_<subsystem>_<name>, with the given constant labels (may be nil).
func NewBuilder(subsystem string, constLabels prometheus.Labels) *Builder {
	return &Builder{subsystem: subsystem, labels: constLabels}
}

// Desc returns the descriptor of the metric name with the given variable
// labels.
func (b *Builder) Desc(name, help string, varLabels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(prometheus.BuildFQName(Namespace, b.subsystem, name), help, varLabels, b.labels)
	b.descs = append(b.descs, d)
	return d
}

// Collector returns a collector that describes the builder's descriptors
// and those of inner, and on each scrape runs collect and collects inner.
func (b *Builder) Collector(collect func(ch chan<- prometheus.Metric), inner ...prometheus.Collector) prometheus.Collector {
	return &collector{descs: b.descs, collect: collect, inner: inner}
}

type collector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
	inner   []prometheus.Collector
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	for _, in := range c.inner {
		in.Describe(ch)
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.collect(ch)
	for _, in := range c.inner {
		in.Collect(ch)
	}
}

// Field is one metric of a component read from a snapshot of type S of
// its stats; make it with Count or Level.
type Field[S any] struct {
	name, help string
	gauge      bool
	value      func(S) float64
}

// Count is the counter name, read from a snapshot with value.
func Count[S any](name, help string, value func(S) uint64) Field[S] {
	return Field[S]{name: name, help: help, value: func(s S) float64 { return float64(value(s)) }}
}

// Level is the gauge name, read from a snapshot with value.
func Level[S any](name, help string, value func(S) float64) Field[S] {
	return Field[S]{name: name, help: help, gauge: true, value: value}
}

// Fields makes the descriptors of fields on b and returns the function
// that sends every field's value in the snapshot s.
func Fields[S any](b *Builder, fields []Field[S]) func(ch chan<- prometheus.Metric, s S) {
	descs := make([]*prometheus.Desc, len(fields))
	for i, f := range fields {
		descs[i] = b.Desc(f.name, f.help)
	}
	return func(ch chan<- prometheus.Metric, s S) {
		for i, f := range fields {
			t := prometheus.CounterValue
			if f.gauge {
				t = prometheus.GaugeValue
			}
			send(ch, descs[i], t, f.value(s), nil)
		}
	}
}

// Counter sends the counter d with value v and the given label values.
func Counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	send(ch, d, prometheus.CounterValue, float64(v), labels)
}

// Gauge sends the gauge d with value v and the given label values.
func Gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	send(ch, d, prometheus.GaugeValue, v, labels)
}

// Bool is 1 for true and 0 for false, for gauges that tell a condition.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// send sends a constant metric; a mismatch of labels (a bug) reaches the
// registry as an invalid metric, which fails the scrape with the reason.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}
