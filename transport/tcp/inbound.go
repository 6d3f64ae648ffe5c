package tcp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
)

// acceptLoop accepts connections until the listener closes, serving each
// in its own goroutine.
func (e *endpoint) acceptLoop(ln net.Listener) {
	defer e.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if e.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Probably out of file descriptors: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			e.log.Warn("tcp: accept failed", "addr", e.addr, "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-e.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		host, ok := e.admit(nc)
		if !ok {
			_ = nc.Close()
			continue
		}
		e.wg.Add(1) // acceptLoop holds a count, so this cannot race with Close's Wait
		go func() {
			defer e.release(host)
			e.serveInbound(nc)
		}()
	}
}

// admit counts an accepted connection against Options.MaxConns and
// MaxConnsPerHost and returns its remote host; false means a limit is
// reached and the connection must be closed (the refusal is counted, and
// logged at most once a second).
func (e *endpoint) admit(nc net.Conn) (string, bool) {
	host := nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	overTotal := e.opts.MaxConns > 0 && e.accepted >= e.opts.MaxConns
	overHost := e.opts.MaxConnsPerHost > 0 && e.acceptedByHost[host] >= e.opts.MaxConnsPerHost
	if overTotal || overHost {
		e.stats.rejected.Add(1)
		if now := time.Now(); now.Sub(e.refusedLogged) >= time.Second {
			e.refusedLogged = now
			e.log.Warn("tcp: refused connection: too many open", "addr", e.addr, "remote", host,
				"open", e.accepted, "open_from_host", e.acceptedByHost[host],
				"max", e.opts.MaxConns, "max_per_host", e.opts.MaxConnsPerHost)
		}
		return host, false
	}
	e.accepted++
	e.acceptedByHost[host]++
	return host, true
}

// release uncounts a connection admit counted.
func (e *endpoint) release(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.accepted--
	if e.acceptedByHost[host]--; e.acceptedByHost[host] == 0 {
		delete(e.acceptedByHost, host)
	}
}

// serveInbound runs an accepted connection: the TLS handshake if
// configured, the hello and its verification, then the reader. If the hello
// names a client address, the connection also becomes the route back to
// that client.
func (e *endpoint) serveInbound(nc net.Conn) {
	defer e.wg.Done()
	opts := e.opts
	raw := nc
	if opts.TLS != nil {
		nc = tls.Server(raw, opts.TLS)
	}
	c := newConn(nc, raw)
	if !e.track(c) {
		return
	}
	defer e.untrack(c)
	defer c.close()

	remote := nc.RemoteAddr().String()
	from, peerID, fr, err := e.handshake(c)
	if err != nil {
		e.stats.rejected.Add(1)
		e.log.Warn("tcp: rejected connection", "addr", e.addr, "remote", remote, "err", err)
		return
	}
	c.rw.readTimeout = opts.ReadIdleTimeout
	c.rw.writeTimeout = opts.WriteTimeout
	fr.max = opts.MaxFrameSize

	if IsClientAddr(from) {
		r, err := e.addRoute(from, c)
		if err != nil {
			e.stats.rejected.Add(1)
			e.log.Warn("tcp: rejected connection", "addr", e.addr, "remote", remote, "claimed", from, "err", err)
			return
		}
		defer e.removeRoute(r)
		e.wg.Add(2) // serveInbound holds a count
		go func() {
			defer e.wg.Done()
			r.pump()
		}()
		go func() {
			defer e.wg.Done()
			// The write buffer is made for the first reply: a client that
			// is sent nothing costs none.
			var err error
			select {
			case first := <-r.queue:
				err = e.writeLoop(c, bufio.NewWriterSize(c.rw, ioBufSize), r.queue, first, from, 0, r.taken)
			case <-c.dead:
				err = errConnClosed
			case <-e.ctx.Done():
				err = chain.ErrClosed
			}
			c.close()
			e.log.Debug("tcp: route to client closed", "addr", e.addr, "client", from, "err", err)
		}()
	}
	e.log.Debug("tcp: accepted connection", "addr", e.addr, "remote", remote, "from", from)
	err = e.readLoop(c, fr, from, peerID)
	e.logClosed("tcp: inbound connection closed", from, err)
}

// handshake completes the TLS handshake (if any) and reads and verifies
// the hello, all within DialTimeout. It returns the peer's claimed and
// verified address, its verified identity (nil without TLS) and the frame
// reader to go on with.
func (e *endpoint) handshake(c *conn) (string, *auth.Identity, *frameReader, error) {
	ctx := e.ctx
	if e.opts.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.DialTimeout)
		defer cancel()
		if err := c.nc.SetReadDeadline(time.Now().Add(e.opts.DialTimeout)); err != nil {
			return "", nil, nil, err
		}
	}
	if tc, ok := c.nc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", nil, nil, fmt.Errorf("tls handshake: %w", err)
		}
	}
	// Read the hello with a limit fit for it: nothing larger is read from
	// a peer before it is verified.
	fr := newFrameReader(newLazyReader(c.rw), maxHelloSize)
	p, err := fr.next()
	if err != nil {
		return "", nil, nil, fmt.Errorf("read hello: %w", err)
	}
	from, err := parseHello(p)
	if err != nil {
		return "", nil, nil, err
	}
	if err := checkPeerAddr(from); err != nil {
		return "", nil, nil, fmt.Errorf("hello: %w", err)
	}
	cs := c.tlsState()
	peerID, err := peerIdentity(cs)
	if err != nil {
		return "", nil, nil, fmt.Errorf("peer claiming %q: %w", from, err)
	}
	if cs != nil {
		verify := e.opts.VerifyPeer
		if verify == nil {
			verify = DefaultVerifyPeer
		}
		if err := verify(from, *cs); err != nil {
			return "", nil, nil, fmt.Errorf("peer claiming %q: %w", from, err)
		}
	}
	if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
		return "", nil, nil, err
	}
	return from, peerID, fr, nil
}

// addRoute makes c the route back to the client at addr. A live route for
// the same address is replaced and its connection closed (the client
// reconnected), unless the two connections presented different
// certificates, in which case the new one is refused.
func (e *endpoint) addRoute(addr string, c *conn) (*route, error) {
	r := newRoute(addr, c, e.opts.SendQueue, e.opts.ClientBacklogBytes)
	if cs := c.tlsState(); cs != nil && len(cs.PeerCertificates) > 0 {
		r.leaf = cs.PeerCertificates[0].Raw
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("endpoint %w", chain.ErrClosed)
	}
	if old := e.routes[addr]; old != nil {
		if !bytes.Equal(old.leaf, r.leaf) {
			return nil, fmt.Errorf("%w: client address %q is held by a connection with another certificate", errRejected, addr)
		}
		old.c.close()
	}
	e.routes[addr] = r
	return r, nil
}

// removeRoute forgets r unless a newer route replaced it.
func (e *endpoint) removeRoute(r *route) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.routes[r.addr] == r {
		delete(e.routes, r.addr)
	}
}
