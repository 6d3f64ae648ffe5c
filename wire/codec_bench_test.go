package wire_test

import (
	"fmt"
	"testing"

	"github.com/chainrep/chain/wire"
)

// BenchmarkDecodeLargeData decodes a request carrying one large payload:
// the cost must grow about linearly with the size.
func BenchmarkDecodeLargeData(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			encoded, err := wire.EncodeMessage(nil, &wire.ClientRequest{Op: wire.OpAppend, ID: 1, Data: make([]byte, size)})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.DecodeMessage(encoded); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPullResponseCodec encodes and decodes the replication hot path's
// message: a pull response of 64 entries of 100 bytes from one client.
func BenchmarkPullResponseCodec(b *testing.B) {
	resp := &wire.PullResponse{Epoch: 3, From: 1000, Commit: 990, Last: 1063}
	for i := range 64 {
		resp.Entries = append(resp.Entries, wire.Entry{Offset: uint64(1000 + i), Epoch: 3,
			Client: "client-7f3a9c", Session: 0x5eed5eed5eed, Seq: uint64(500 + i), Acked: 480, Data: make([]byte, 100)})
	}
	encoded, err := wire.EncodeMessage(nil, resp)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2*len(encoded))
		for b.Loop() {
			if buf, err = wire.EncodeMessage(buf[:0], resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := wire.DecodeMessage(encoded); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Logf("%d bytes on the wire", len(encoded))
}
