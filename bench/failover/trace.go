package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// tracing wraps a transport so that, once on is set, every message the
// client sends and receives is printed to stderr with the time since the
// kill ($FAILOVER_TRACE): where the time to recover goes.
type tracing struct {
	chain.Transport
	since atomic.Pointer[time.Time]
}

func (t *tracing) Listen(addr string) (chain.Endpoint, error) {
	ep, err := t.Transport.Listen(addr)
	if err != nil {
		return nil, err
	}
	te := &tracedEndpoint{Endpoint: ep, t: t, in: make(chan chain.Inbound, 1024)}
	go func() {
		for in := range ep.Receive() {
			te.t.print("<-", in.From, in.Msg)
			te.in <- in
		}
		close(te.in)
	}()
	return te, nil
}

type tracedEndpoint struct {
	chain.Endpoint
	t  *tracing
	in chan chain.Inbound
}

func (e *tracedEndpoint) Send(ctx context.Context, to string, msg chain.Message) error {
	e.t.print("->", to, msg)
	return e.Endpoint.Send(ctx, to, msg)
}

func (e *tracedEndpoint) Receive() <-chan chain.Inbound { return e.in }

func (t *tracing) print(dir, peer string, msg chain.Message) {
	since := t.since.Load()
	if since == nil {
		return
	}
	s := fmt.Sprintf("%T", msg)
	switch m := msg.(type) {
	case *wire.ClientRequest:
		s = fmt.Sprintf("req op=%v id=%d ep=%d", m.Op, m.ID, m.Epoch)
	case *wire.ClientResponse:
		s = fmt.Sprintf("resp id=%d err=%v", m.ID, m.Err)
		if m.Err != nil {
			s += fmt.Sprintf(" ep=%d", m.Err.Epoch)
		}
	case *wire.RequestBatch:
		s = fmt.Sprintf("batch of %d, first op=%v id=%d ep=%d", len(m.Requests), m.Requests[0].Op, m.Requests[0].ID, m.Requests[0].Epoch)
	case *wire.ResponseBatch:
		s = fmt.Sprintf("resp batch of %d, first id=%d err=%v", len(m.Responses), m.Responses[0].ID, m.Responses[0].Err)
	case *wire.ConfigUpdate:
		s = fmt.Sprintf("config ep=%d", m.Config.Epoch)
	}
	fmt.Fprintf(os.Stderr, "%8v %s %s %s\n", time.Since(*since).Round(100*time.Microsecond), dir, peer, s)
}
