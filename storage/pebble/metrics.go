package pebble

import (
	"math"

	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/chainrep/chain/internal/metrics"
)

// fsyncBounds are the bucket bounds, in seconds, that the fsync histogram
// is reported with. Pebble keeps a hundred finer buckets; each bound here
// is reported at the largest of Pebble's bounds not above it, so counts
// stay exact.
var fsyncBounds = []float64{100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}

// Collector returns a Prometheus collector of the storage's Stats and of
// Pebble's own figures, read when scraped, for the embedding program to
// register on its own registry: chain_pebble_wal_fsync_seconds is the
// latency of the write-ahead log's fsyncs, by database (db="log" for the
// entries, "meta" for SetMeta). The metrics carry no constant labels: to
// register the collectors of several storages on one registry, wrap each
// with prometheus.WrapRegistererWith (chaind adds the node's label).
// After Close it reports the counts at Close and no fsync histogram.
func (s *Storage) Collector() prometheus.Collector {
	b := metrics.NewBuilder("pebble", nil)
	appended := b.Desc("entries_appended_total", "Entries of the Append calls that succeeded.")
	walBytes := b.Desc("wal_bytes_written_total", "Bytes written to Pebble's write-ahead logs.")
	tableBytes := b.Desc("table_bytes_written_total", "Bytes written to Pebble's tables by flushes and compactions.")
	disk := b.Desc("disk_usage_bytes", "Disk space the databases use.", "db")
	failed := b.Desc("failed", "1 once a write or sync failed: the storage then refuses every change (fail-stop).")
	fsync := b.Desc("wal_fsync_seconds", "Latency of the write-ahead log's fsyncs.", "db")
	return b.Collector(func(ch chan<- prometheus.Metric) {
		st := s.Stats()
		metrics.Counter(ch, appended, st.EntriesAppended)
		metrics.Counter(ch, walBytes, st.WALBytesWritten)
		metrics.Counter(ch, tableBytes, st.TableBytesWritten)
		metrics.Gauge(ch, failed, metrics.Bool(s.failure.err() != nil))
		s.life.RLock()
		defer s.life.RUnlock()
		if s.closed {
			return
		}
		for _, d := range []struct {
			name string
			db   *pebbledb.DB
		}{{"log", s.db}, {"meta", s.meta}} {
			m := d.db.Metrics()
			metrics.Gauge(ch, disk, float64(m.DiskSpaceUsage()), d.name)
			if h := m.LogWriter.FsyncLatency; h != nil {
				ch <- secondsHistogram(fsync, h, d.name)
			}
		}
	})
}

// secondsHistogram reports Pebble's histogram h, kept in nanoseconds, as
// the histogram d in seconds with the bounds of fsyncBounds.
func secondsHistogram(d *prometheus.Desc, h prometheus.Histogram, labels ...string) prometheus.Metric {
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	src := m.GetHistogram().GetBucket()
	buckets := make(map[float64]uint64, len(fsyncBounds))
	i := 0
	var below *dto.Bucket // the last of Pebble's buckets at or below the bound
	for _, bound := range fsyncBounds {
		for i < len(src) && src[i].GetUpperBound()/1e9 <= bound {
			below = src[i]
			i++
		}
		if below != nil && !math.IsInf(below.GetUpperBound(), 1) {
			buckets[below.GetUpperBound()/1e9] = below.GetCumulativeCount()
		}
	}
	hist := m.GetHistogram()
	out, err := prometheus.NewConstHistogram(d, hist.GetSampleCount(), hist.GetSampleSum()/1e9, buckets, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return out
}
