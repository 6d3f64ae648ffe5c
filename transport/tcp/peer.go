package tcp

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain"
)

// peerIdle is how long a peer with no connection and nothing to send is
// kept before it is forgotten (with its backoff state).
const peerIdle = time.Minute

// healthyAfter is how long a connection must have lived for its failure to
// reset the backoff: a peer that accepts and at once drops connections (for
// example because it rejects this endpoint's certificate) is retried with
// growing delays, not in a tight loop.
const healthyAfter = time.Second

// peer is the outbound side of an endpoint toward one dialable address: a
// bounded queue of messages, and one goroutine (run) that connects, writes
// the queue to the connection and reconnects. At most one connection is
// open at a time, so messages to one address leave in the order they were
// queued.
type peer struct {
	ep   *endpoint
	addr string
	// queue holds the messages not yet taken by the writer. It is never
	// closed.
	queue chan chain.Message
	// down is set while the last attempt to connect failed: Send then
	// drops a message rather than wait for room in the queue.
	down atomic.Bool
	// pending counts Sends between finding this peer and queueing. It is
	// incremented with ep.mu held, so that run can tell, with ep.mu held,
	// that nobody is about to queue before forgetting the peer.
	pending atomic.Int32
}

func newPeer(ep *endpoint, addr string) *peer {
	return &peer{ep: ep, addr: addr, queue: make(chan chain.Message, ep.opts.SendQueue)}
}

// enqueue queues msg, waiting for room until ctx is done, unless the peer
// is down, in which case a message that finds the queue full is dropped.
func (p *peer) enqueue(ctx context.Context, msg chain.Message) error {
	select {
	case p.queue <- msg:
		return nil
	default:
	}
	if p.down.Load() {
		p.ep.stats.dropped.Add(1)
		return nil
	}
	select {
	case p.queue <- msg:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tcp: send from %q to %q: %w", p.ep.addr, p.addr, ctx.Err())
	case <-p.ep.ctx.Done():
		return fmt.Errorf("tcp: send from %q to %q: endpoint %w", p.ep.addr, p.addr, chain.ErrClosed)
	}
}

// run is the peer's goroutine. It connects when there is something to
// send, writes until the connection fails, and reconnects when there is
// more to send, waiting out the backoff after failures. Each failed attempt
// to connect drops every message queued so far: delivery is best effort,
// and a peer that cannot be reached does not hold messages (or Send) for
// longer than one backoff delay plus one dial timeout.
func (p *peer) run() {
	defer p.ep.wg.Done()
	bo := backoff{min: p.ep.opts.ReconnectBackoffMin, max: p.ep.opts.ReconnectBackoffMax}
	idle := time.NewTimer(peerIdle)
	defer idle.Stop()
	for {
		// Wait for something to send.
		var first chain.Message
		idle.Reset(peerIdle)
		select {
		case first = <-p.queue:
		case <-p.ep.ctx.Done():
			return
		case <-idle.C:
			if p.retire() {
				return
			}
			continue
		}
		if d := bo.delay(); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.ep.ctx.Done():
				t.Stop()
				return
			}
		}
		c, bw, err := p.connect()
		if err != nil {
			if p.ep.ctx.Err() != nil {
				return
			}
			p.down.Store(true)
			n := 1 + p.drain()
			p.ep.stats.dropped.Add(uint64(n))
			bo.failed()
			p.ep.log.Debug("tcp: cannot connect; dropped queued messages", "from", p.ep.addr, "to", p.addr, "dropped", n, "retry_in", bo.delay(), "err", err)
			continue
		}
		p.down.Store(false)
		start := time.Now()
		err = p.serve(c, bw, first)
		if p.ep.ctx.Err() != nil {
			return
		}
		if time.Since(start) >= healthyAfter {
			bo.succeeded()
		} else {
			bo.failed()
		}
		p.ep.logClosed("tcp: connection lost", p.addr, err)
	}
}

// retire forgets the peer if nobody is queueing to it, and reports whether
// it did. A later Send to the address makes a new peer.
func (p *peer) retire() bool {
	p.ep.mu.Lock()
	defer p.ep.mu.Unlock()
	if p.pending.Load() != 0 || len(p.queue) != 0 {
		return false
	}
	if p.ep.peers[p.addr] == p {
		delete(p.ep.peers, p.addr)
	}
	return true
}

// drain empties the queue and returns how many messages it discarded.
func (p *peer) drain() int {
	n := 0
	for {
		select {
		case <-p.queue:
			n++
		default:
			return n
		}
	}
}

// connect dials the peer, completes the TLS handshake if configured, and
// sends the hello. The connection is registered with the endpoint, so that
// Close closes it.
func (p *peer) connect() (*conn, *bufio.Writer, error) {
	opts := p.ep.opts
	ctx := p.ep.ctx
	if opts.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.DialTimeout)
		defer cancel()
	}
	p.ep.stats.dials.Add(1)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		p.ep.stats.dialFailures.Add(1)
		return nil, nil, fmt.Errorf("dial %s: %w", p.addr, err)
	}
	raw := nc
	if opts.TLS != nil {
		tc := tls.Client(raw, clientTLSConfig(opts.dialTLS(), p.addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			p.ep.stats.dialFailures.Add(1)
			return nil, nil, fmt.Errorf("tls handshake with %s: %w", p.addr, err)
		}
		nc = tc
	}
	c := newConn(nc, raw)
	id, err := peerIdentity(c.tlsState())
	if err == nil {
		err = checkDialedIdentity(p.addr, id)
	}
	if err != nil {
		_ = raw.Close()
		p.ep.stats.dialFailures.Add(1)
		p.ep.log.Warn("tcp: rejected the endpoint dialed", "from", p.ep.addr, "to", p.addr, "err", err)
		return nil, nil, fmt.Errorf("certificate of %s: %w", p.addr, err)
	}
	c.peerID = id
	c.rw.writeTimeout = opts.WriteTimeout
	if !p.ep.track(c) {
		return nil, nil, fmt.Errorf("connect to %s: endpoint %w", p.addr, chain.ErrClosed)
	}
	bw := bufio.NewWriterSize(c.rw, ioBufSize)
	_, _ = bw.Write(appendHelloFrame(nil, p.ep.addr))
	if err := bw.Flush(); err != nil {
		c.close()
		p.ep.untrack(c)
		p.ep.stats.dialFailures.Add(1)
		return nil, nil, fmt.Errorf("send hello to %s: %w", p.addr, err)
	}
	return c, bw, nil
}

// serve runs a connected peer: a reader goroutine delivers what the remote
// endpoint sends back (replies to a client endpoint travel this way), and
// the calling goroutine writes the queue. It returns when either side
// fails, after both have stopped and the connection is closed.
func (p *peer) serve(c *conn, bw *bufio.Writer, first chain.Message) error {
	defer p.ep.untrack(c)
	readErr := make(chan error, 1)
	p.ep.wg.Add(1) // run holds a count, so this cannot race with Close's Wait
	go func() {
		defer p.ep.wg.Done()
		err := p.ep.readLoop(c, newFrameReader(bufio.NewReaderSize(c.rw, ioBufSize), p.ep.opts.MaxFrameSize), p.addr, c.peerID)
		c.close()
		readErr <- err
	}()
	err := p.ep.writeLoop(c, bw, p.queue, first, p.addr, p.ep.opts.keepaliveInterval(), nil)
	c.close()
	if rerr := <-readErr; err == errConnClosed {
		err = rerr
	}
	return err
}
