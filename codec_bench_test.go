package chain_test

import (
	"fmt"
	"testing"

	"github.com/chainrep/chain"
)

// BenchmarkDecodeLargeData decodes a request carrying one large payload:
// the cost must grow about linearly with the size.
func BenchmarkDecodeLargeData(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			wire, err := chain.EncodeMessage(nil, &chain.ClientRequest{Op: chain.OpAppend, ID: 1, Data: make([]byte, size)})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := chain.DecodeMessage(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
