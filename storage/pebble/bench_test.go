package pebble

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/storagetest"
)

// BenchmarkStorage runs the storagetest benchmarks on disk with the
// default sync policy and without syncing. Besides entries/s, the append
// benchmarks report bytes/entry: the bytes Pebble wrote to its
// write-ahead log and, by flushes and compactions, to its tables, per
// entry appended.
func BenchmarkStorage(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			storagetest.RunBenchmarks(b, func(b *testing.B) chain.Storage {
				s, err := Open(b.TempDir(), WithSync(sync), WithLogger(quietLogger()))
				require.NoError(b, err)
				return &metered{Storage: s, b: b}
			})
		})
	}
}

// metered reports bytes/entry when the benchmark closes it.
type metered struct {
	*Storage
	b *testing.B
}

func (m *metered) Close() error {
	err := m.Storage.Close()
	st := m.Storage.Stats()
	if st.EntriesAppended > 0 && strings.Contains(m.b.Name(), "/Append/") {
		m.b.ReportMetric(float64(st.WALBytesWritten+st.TableBytesWritten)/float64(st.EntriesAppended), "bytes/entry")
	}
	return err
}
