package chain_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
)

// BenchmarkAppend measures raw appends through a 3-node chain on the
// in-memory transport with 1, 16 and 256 requests in flight. Allocations
// are counted across the whole process: client, three nodes and the
// transport's encoding and decoding of every message.
func BenchmarkAppend(b *testing.B) {
	for _, inflight := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			c := chaintest.Start(b, chaintest.Options{Nodes: 3, Seed: 1})
			cl := c.Client(chain.WithMaxInflight(inflight))
			payload := make([]byte, 100)
			ctx := context.Background()
			var next atomic.Int64
			var failed atomic.Value
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range inflight {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := cl.Append(ctx, payload); err != nil {
							failed.Store(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
