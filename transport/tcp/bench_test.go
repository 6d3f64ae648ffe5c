package tcp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// BenchmarkRoundTrip measures request/response round trips over loopback:
// a client endpoint sends ClientRequests with 100 bytes of Data to a server
// endpoint that answers each with a ClientResponse carrying the same bytes,
// keeping inflight requests outstanding. msgs/s counts completed round
// trips (one request and one response each); allocations are those of both
// sides, which share the process.
func BenchmarkRoundTrip(b *testing.B) {
	for _, inflight := range []int{1, 256} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			benchRoundTrip(b, func(testing.TB) tcp.Options { return tcp.Options{} }, inflight)
		})
	}
	for _, inflight := range []int{1, 256} {
		b.Run(fmt.Sprintf("mTLS/inflight=%d", inflight), func(b *testing.B) {
			benchRoundTrip(b, func(tb testing.TB) tcp.Options {
				pki := newPKI(tb)
				return tcp.Options{TLS: pki.mtls(pki.leaf(tb, loopback))}
			}, inflight)
		})
	}
}

func benchRoundTrip(b *testing.B, options func(testing.TB) tcp.Options, inflight int) {
	opts := options(b)
	srv := listen(b, newTCP(b, opts), "127.0.0.1:0")
	cl := listen(b, newTCP(b, opts), "")
	ctx := context.Background()

	echoed := make(chan struct{})
	go func() {
		defer close(echoed)
		for in := range srv.Receive() {
			req := in.Msg.(*wire.ClientRequest)
			if srv.Send(ctx, in.From, &wire.ClientResponse{ID: req.ID, Result: req.Data}) != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		_ = srv.Close()
		<-echoed
	})

	data := make([]byte, 100)
	request := func(id int) {
		if err := cl.Send(ctx, srv.Addr(), &wire.ClientRequest{Op: wire.OpAppend, ID: uint64(id), Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	// Connect before timing.
	request(0)
	<-cl.Receive()

	b.ReportAllocs()
	b.ResetTimer()
	sent := 0
	for ; sent < min(inflight, b.N); sent++ {
		request(sent)
	}
	for range b.N {
		in, ok := <-cl.Receive()
		if !ok {
			b.Fatal("client closed")
		}
		if _, ok := in.Msg.(*wire.ClientResponse); !ok {
			b.Fatalf("got %T", in.Msg)
		}
		if sent < b.N {
			request(sent)
			sent++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
