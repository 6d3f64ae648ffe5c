package testutil

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// Scrape is what one scrape of a collector's metrics gave, for a test to
// read.
type Scrape struct {
	T       testing.TB
	Samples []metrics.Sample
}

// GatherMetrics scrapes g once; a failure to gather fails t.
func GatherMetrics(t testing.TB, g prometheus.Gatherer) Scrape {
	t.Helper()
	samples, err := metrics.Gather(g)
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	return Scrape{T: t, Samples: samples}
}

// Get returns the value of the metric name whose labels include labels
// (see metrics.Find); there being none fails the test.
func (s Scrape) Get(name string, labels map[string]string) float64 {
	s.T.Helper()
	v, ok := metrics.Find(s.Samples, name, labels)
	if !ok {
		s.T.Fatalf("no metric %s %v", name, labels)
	}
	return v
}

// Has reports whether the scrape holds the metric name with labels.
func (s Scrape) Has(name string, labels map[string]string) bool {
	_, ok := metrics.Find(s.Samples, name, labels)
	return ok
}
