package master

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
)

// tcpStream is the TCP stream layer under raft's network transport, like
// raft.NewTCPTransport's, except that Close also closes every connection
// it accepted or dialed: raft's own leaves the goroutines that serve
// inbound connections blocked until the peer hangs up, which outlives the
// master.
type tcpStream struct {
	ln net.Listener
	// advertised is the address raft puts in its RPCs' headers.
	advertised net.Addr
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
	return &tcpStream{ln: ln, advertised: advertisedAddr(addr, ln.Addr()), tls: t, conns: make(map[*trackedConn]struct{})}, nil
}

// advertisedAddr is the raft address a master listening on addr (bound as
// bound) gives its peers: addr as written, host name and all, so that it
// is the address the group's configuration names (the masters' -peers,
// or chainctl add-master's argument) and the address the master's RPCs
// claim matches it (see checkRaftClaim); the bound address only when addr
// asks for any port.
func advertisedAddr(addr string, bound net.Addr) net.Addr {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		return bound
	}
	return namedAddr(addr)
}

// checkOwnRaftAddr refuses a group whose peers give the master at addr
// a raft address other than the one it advertises: its peers would
// refuse every RPC it sent (checkRaftClaim), and the group would never
// elect it.
func checkOwnRaftAddr(peers []Peer, addr string, advertised raft.ServerAddress) error {
	for _, p := range peers {
		if p.Addr == addr && p.RaftAddr != string(advertised) {
			return fmt.Errorf("raft transport: %w: the peers give master %s the raft address %s, but it listens as %s: give both the same",
				chain.ErrInvalidConfig, addr, p.RaftAddr, advertised)
		}
	}
	return nil
}

// namedAddr is a TCP address as written.
type namedAddr string

func (namedAddr) Network() string  { return "tcp" }
func (a namedAddr) String() string { return string(a) }

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

// Addr implements net.Listener: it is the advertised address, which raft
// takes for its own.
func (s *tcpStream) Addr() net.Addr { return s.advertised }

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
