package transporttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// testConcurrent has several endpoints, listening and client, each send
// from several goroutines to one receiver, which echoes every message back
// to its sender as it goes. Every message and every echo must arrive once,
// in order per sending goroutine.
func testConcurrent(t *testing.T, h *harness) {
	const (
		goroutines = 2   // per sending endpoint
		perG       = 500 // messages per goroutine
		perEP      = goroutines * perG
	)
	rcv := h.listen()
	senders := []chain.Endpoint{h.listen(), h.listen(), h.client(), h.client()}
	total := len(senders) * perEP

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fails := newErrs(64)
	var wg sync.WaitGroup

	// The receiver checks order per (sender, goroutine) and echoes.
	wg.Go(func() {
		next := make(map[string][goroutines]uint64, len(senders))
		for range total {
			var in chain.Inbound
			select {
			case in = <-rcv.Receive():
			case <-ctx.Done():
				fails.add("receiver: %v", ctx.Err())
				return
			}
			m, ok := in.Msg.(*wire.ClientRequest)
			if !ok {
				fails.add("receiver: got %T", in.Msg)
				return
			}
			g, s := m.ID>>32, m.ID&(1<<32-1)
			if g >= goroutines {
				fails.add("receiver: bad ID %#x from %s", m.ID, in.From)
				return
			}
			n := next[in.From]
			if s != n[g] {
				fails.add("receiver: from %s goroutine %d: got seq %d, want %d", in.From, g, s, n[g])
				return
			}
			n[g]++
			next[in.From] = n
			if err := rcv.Send(ctx, in.From, &wire.ClientResponse{ID: m.ID}); err != nil {
				fails.add("receiver: echo to %s: %v", in.From, err)
				return
			}
		}
	})

	for _, ep := range senders {
		// Each sender's collector checks the echoes.
		wg.Go(func() {
			var next [goroutines]uint64
			for range perEP {
				var in chain.Inbound
				select {
				case in = <-ep.Receive():
				case <-ctx.Done():
					fails.add("%s: echoes: %v", ep.Addr(), ctx.Err())
					return
				}
				m, ok := in.Msg.(*wire.ClientResponse)
				if !ok || in.From != rcv.Addr() {
					fails.add("%s: got %T from %s", ep.Addr(), in.Msg, in.From)
					return
				}
				g, s := m.ID>>32, m.ID&(1<<32-1)
				if g >= goroutines || s != next[g] {
					fails.add("%s: echo ID %#x out of order", ep.Addr(), m.ID)
					return
				}
				next[g]++
			}
		})
		for g := range uint64(goroutines) {
			wg.Go(func() {
				for s := range uint64(perG) {
					if err := ep.Send(ctx, rcv.Addr(), &wire.ClientRequest{Op: wire.OpAppend, ID: g<<32 | s, Data: []byte("concurrent")}); err != nil {
						fails.add("%s: send: %v", ep.Addr(), err)
						return
					}
				}
			})
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cancel()
		<-done
		t.Error("timed out")
	}
	fails.check(t)
}
