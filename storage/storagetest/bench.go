package storagetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

const (
	// benchDataSize is the Data size of the benchmarks' entries.
	benchDataSize = 100
	// benchTrimEvery is how many entries an append benchmark writes before
	// it truncates them away, so that long runs measure appends rather
	// than the growth of the log.
	benchTrimEvery = 1 << 16
)

// RunBenchmarks runs benchmarks of appends in batches of 1, 16 and 256
// entries with 100 bytes of Data each, and of reads of 64 entries, as
// sub-benchmarks of b. open must return a new, empty storage each time it
// is called; the benchmarks close it. Each reports entries/s.
func RunBenchmarks(b *testing.B, open func(b *testing.B) chain.Storage) {
	b.Helper()
	fresh := closedAtEnd(open)
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("Append/batch=%d", batch), func(b *testing.B) { benchAppend(b, fresh(b), batch) })
	}
	b.Run("Entries/page=64", func(b *testing.B) { benchEntries(b, fresh(b), 64) })
}

// benchEntry returns the benchmarks' entry at offset off, holding data.
func benchEntry(off uint64, data []byte) chain.Entry {
	return chain.Entry{Offset: off, Epoch: 1, Client: "bench", Seq: off, Command: "put", Data: data}
}

func benchAppend(b *testing.B, s chain.Storage, batch int) {
	data := bytes.Repeat([]byte{'x'}, benchDataSize)
	es := make([]chain.Entry, batch)
	next := s.LastOffset() + 1
	written, sinceTrim := 0, 0
	b.SetBytes(int64(batch * benchDataSize))
	b.ReportAllocs()
	for b.Loop() {
		for i := range es {
			es[i] = benchEntry(next+uint64(i), data)
		}
		if err := s.Append(es); err != nil {
			b.Fatalf("append %d entries at %d: %v", batch, next, err)
		}
		next += uint64(batch)
		written += batch
		if sinceTrim += batch; sinceTrim >= benchTrimEvery {
			b.StopTimer()
			if err := s.TruncatePrefix(next); err != nil {
				b.Fatalf("truncate prefix before %d: %v", next, err)
			}
			sinceTrim = 0
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "entries/s")
}

func benchEntries(b *testing.B, s chain.Storage, page int) {
	const n = 10000
	data := bytes.Repeat([]byte{'x'}, benchDataSize)
	es := make([]chain.Entry, 0, 256)
	for off := uint64(1); off <= n; off++ {
		if es = append(es, benchEntry(off, data)); len(es) == cap(es) || off == n {
			require.NoError(b, s.Append(es))
			es = es[:0]
		}
	}
	read := 0
	from := uint64(1)
	b.SetBytes(int64(page * benchDataSize))
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.Entries(from, from+uint64(page), 1<<30)
		if err != nil || len(got) != page {
			b.Fatalf("Entries(%d, %d) = %d entries, %v; want %d", from, from+uint64(page), len(got), err, page)
		}
		read += page
		if from += uint64(page); from+uint64(page) > n+1 {
			from = 1
		}
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "entries/s")
}
