package tcp

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// clientBacklog is how many messages, in multiples of Options.SendQueue,
// may wait for a client beyond its send queue before the client counts as
// not reading: a client that reads keeps its backlog far below (a burst of
// replies to its batched calls), one that stopped reading fills it.
const clientBacklog = 16

// route is the way back to a client endpoint: the connection it opened to
// this endpoint, with its own queue and writer goroutine. Sends to it never
// wait (enqueue): the endpoint's goroutines that answer clients, such as a
// node's receiver, applier and readers, must not be held up by one. Beyond
// the writer's queue, messages wait in a backlog that a pump goroutine
// moves into the queue in order; a client whose backlog is full has
// stopped reading, and its connection is closed. So is a client for which
// more than Options.ClientBacklogBytes wait, queued or in the backlog.
type route struct {
	addr  string
	c     *conn
	queue chan chain.Message // what the writer takes, in order
	// leaf is the raw certificate the client presented, if any. A client
	// address stays bound to it while its connection lives: another
	// connection claiming the address must present the same certificate.
	leaf []byte

	mu      sync.Mutex
	backlog []chain.Message // guarded by mu: messages after those in queue
	moving  int             // guarded by mu: messages the pump took from backlog and has not queued
	limit   int
	ready   chan struct{} // signals the pump that the backlog has messages

	// waiting is the wire.SizeHint of every message enqueued and not yet
	// taken by the writer; byteLimit bounds it (0: no bound).
	waiting   atomic.Int64
	byteLimit int64
}

// routeQueue bounds a route's channel: the rest of Options.SendQueue
// waits in the backlog, which takes memory only when used, so that an
// idle client connection does not cost a SendQueue-long channel.
const routeQueue = 64

// newRoute returns the route to the client at addr over c, holding up to
// queue plus clientBacklog times queue messages, and up to byteLimit
// bytes of them (negative: no byte bound).
func newRoute(addr string, c *conn, queue, byteLimit int) *route {
	ch := min(queue, routeQueue)
	return &route{
		addr: addr, c: c, queue: make(chan chain.Message, ch),
		limit: clientBacklog*max(queue, 1) + queue - ch, ready: make(chan struct{}, 1),
		byteLimit: int64(max(byteLimit, 0)),
	}
}

// reserve counts msg's bytes as waiting and reports whether they fit the
// byte bound. The first message always fits: a reply larger than the
// bound is sent when nothing else waits.
func (r *route) reserve(msg chain.Message) bool {
	n := int64(wire.SizeHint(msg))
	if total := r.waiting.Add(n); r.byteLimit > 0 && total > r.byteLimit && total != n {
		r.waiting.Add(-n)
		return false
	}
	return true
}

// taken is called by the writer for each message it takes from the
// queue: its bytes no longer wait.
func (r *route) taken(msg chain.Message) { r.waiting.Add(-int64(wire.SizeHint(msg))) }

// notReading counts a message dropped and closes the connection of a
// client that does not read its replies, saying so once.
func (r *route) notReading(ep *endpoint, why string) {
	ep.stats.dropped.Add(1)
	if r.c.close() {
		ep.log.Warn("tcp: client not reading its replies: connection closed", "addr", ep.addr, "client", r.addr, "waiting", why)
	}
}

// enqueue queues msg for the client without waiting. If the client's
// backlog is full, msg is dropped and the connection closed, so that the
// client reconnects and retries. A message for a connection that has gone
// is dropped too.
func (r *route) enqueue(ep *endpoint, msg chain.Message) {
	if !r.reserve(msg) {
		r.notReading(ep, fmt.Sprintf("over %d bytes", r.byteLimit))
		return
	}
	r.mu.Lock()
	if len(r.backlog) == 0 && r.moving == 0 {
		select {
		case r.queue <- msg: // in order: nothing waits before it
			r.mu.Unlock()
			return
		default:
		}
	}
	select {
	case <-r.c.dead:
		r.mu.Unlock()
		r.taken(msg)
		ep.stats.dropped.Add(1)
		return
	default:
	}
	if len(r.backlog)+r.moving >= r.limit {
		r.mu.Unlock()
		r.taken(msg)
		r.notReading(ep, fmt.Sprintf("%d messages", r.limit))
		return
	}
	r.backlog = append(r.backlog, msg)
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// pump moves the backlog into the queue, in order, until the connection
// closes.
func (r *route) pump() {
	for {
		select {
		case <-r.ready:
		case <-r.c.dead:
			return
		}
		r.mu.Lock()
		batch := r.backlog
		r.backlog, r.moving = nil, len(batch)
		r.mu.Unlock()
		for i, msg := range batch {
			select {
			case r.queue <- msg:
			case <-r.c.dead:
				return
			}
			batch[i] = nil
			r.mu.Lock()
			r.moving--
			r.mu.Unlock()
		}
	}
}
