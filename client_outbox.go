package chain

import (
	"context"
	"runtime"
	"sync"

	"github.com/chainrep/chain/wire"
)

// outbox gathers the requests of a client's concurrent calls so that the
// flusher sends those queued for one node as one RequestBatch: under load a
// client pays for one message, one frame and one delivery per batch rather
// than per call.
type outbox struct {
	maxBytes int // bound on the payload bytes of one batch

	mu     sync.Mutex
	queued []outgoing
	index  map[uint64]int // position in queued of each request ID
	spare  []outgoing     // the slice the flusher last drained, reused
	kick   chan struct{}  // capacity 1: requests are queued
}

// outgoing is a request queued for the node at to.
type outgoing struct {
	to  string
	req wire.ClientRequest
}

func newOutbox(maxBytes int) *outbox {
	return &outbox{maxBytes: maxBytes, index: make(map[uint64]int), kick: make(chan struct{}, 1)}
}

// add queues a copy of req for the node at to. A request whose ID is
// already queued (a retry sent before the flusher took the first copy)
// replaces it, so the outbox holds at most one request per call in flight.
func (o *outbox) add(to string, req *wire.ClientRequest) {
	o.mu.Lock()
	if i, ok := o.index[req.ID]; ok {
		o.queued[i] = outgoing{to: to, req: *req}
	} else {
		o.index[req.ID] = len(o.queued)
		o.queued = append(o.queued, outgoing{to: to, req: *req})
	}
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default: // a flush is already due
	}
}

// take returns everything queued and empties the queue.
func (o *outbox) take() []outgoing {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.queued
	o.queued = o.spare[:0]
	o.spare = nil
	clear(o.index)
	return out
}

// release gives back a slice take returned, once its requests are sent.
func (o *outbox) release(out []outgoing) {
	clear(out) // drop references to payloads
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.spare == nil {
		o.spare = out[:0]
	}
}

// runFlusher sends what the outbox gathers until ctx ends. After each kick
// it yields once, so that calls already runnable queue their requests
// first and travel in the same batch. A request that cannot be sent is a
// lost message: the retry scanner has its call send it again.
func (c *Client) runFlusher(ctx context.Context) {
	defer c.wg.Done()
	for {
		select {
		case <-c.out.kick:
		case <-ctx.Done():
			return
		}
		runtime.Gosched()
		queued := c.out.take()
		c.sendBatches(ctx, queued)
		c.out.release(queued)
	}
}

// sendBatches sends queued to their nodes, in order per node: a request
// alone as itself, several as RequestBatches of at most maxBytes of
// payload each.
func (c *Client) sendBatches(ctx context.Context, queued []outgoing) {
	for len(queued) > 0 {
		to := queued[0].to
		var batch []wire.ClientRequest
		bytes, full := 0, false
		rest := queued[:0]
		for _, q := range queued {
			size := len(q.req.Data) + len(q.req.Name) + wire.EntryOverhead
			full = full || (q.to == to && len(batch) > 0 && bytes+size > c.out.maxBytes)
			if q.to != to || full {
				rest = append(rest, q) // later: another node, or the next batch
				continue
			}
			batch = append(batch, q.req)
			bytes += size
		}
		var msg Message = &wire.RequestBatch{Requests: batch}
		if len(batch) == 1 {
			msg = &batch[0]
		}
		_ = c.ep.Send(ctx, to, msg) // lost or refused: the retry scanner has the call resend
		queued = rest
	}
}
