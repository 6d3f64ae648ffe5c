package master

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// tcpStream is the TCP stream layer under raft's network transport, like
// raft.NewTCPTransport's, except that Close also closes every connection
// it accepted or dialed: raft's own leaves the goroutines that serve
// inbound connections blocked until the peer hangs up, which outlives the
// master.
type tcpStream struct {
	ln net.Listener
	// tls, when set, makes every connection mutual TLS (see raft_tls.go).
	tls *raftTLS

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

// listenTCP listens on addr, with mutual TLS when t is not nil.
func listenTCP(addr string, t *raftTLS) (*tcpStream, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a, ok := ln.Addr().(*net.TCPAddr)
	if !ok || a.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, errors.New("raft address " + addr + " is not advertisable: give a host address")
	}
	return &tcpStream{ln: ln, tls: t, conns: make(map[*trackedConn]struct{})}, nil
}

// Dial implements raft.StreamLayer.
func (s *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if s.tls != nil {
		c, err := s.tls.dial(string(addr), timeout)
		if err != nil {
			return nil, err
		}
		return s.track(c)
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("tcp", string(addr))
	if err != nil {
		return nil, err
	}
	return s.track(c)
}

// Accept implements net.Listener.
func (s *tcpStream) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	if s.tls != nil {
		// The handshake runs on the connection's first read, on the
		// goroutine raft serves it with, so that a peer that never
		// completes it holds up no other.
		c = s.tls.accept(c)
	}
	return s.track(c)
}

func (s *tcpStream) track(c net.Conn) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, s: s}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// Close implements net.Listener: it closes the listener and every
// connection.
func (s *tcpStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := s.conns
	s.conns = map[*trackedConn]struct{}{}
	s.mu.Unlock()
	err := s.ln.Close()
	for c := range conns {
		_ = c.Conn.Close()
	}
	return err
}

// Addr implements net.Listener.
func (s *tcpStream) Addr() net.Addr { return s.ln.Addr() }

type trackedConn struct {
	net.Conn
	s *tcpStream
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}
