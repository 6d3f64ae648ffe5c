package tcp

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/chainrep/chain/auth"
)

// ioBufSize is the size of each connection's read and write buffers.
const ioBufSize = 64 << 10

// errConnClosed reports that a connection was torn down by this side.
var errConnClosed = errors.New("connection closed")

// conn is one TCP (or TLS) connection of an endpoint, accepted or dialed.
// Its reader and, when it has one, its writer run in their own goroutines;
// either tears the connection down with close when it fails, which makes
// the other stop too.
type conn struct {
	// nc is the connection messages travel on: raw, or a *tls.Conn over
	// raw.
	nc  net.Conn
	raw net.Conn
	// rw is nc with the read and write deadlines applied per system call.
	rw *deadlineConn
	// dead is closed by close.
	dead chan struct{}
	once sync.Once
	// peerID is the verified identity of the endpoint dialed (nil without
	// TLS); set before the connection is shared.
	peerID *auth.Identity
}

// newConn returns the conn for nc, which runs over raw (nc itself without
// TLS).
func newConn(nc, raw net.Conn) *conn {
	return &conn{nc: nc, raw: raw, rw: &deadlineConn{Conn: nc}, dead: make(chan struct{})}
}

// close closes the connection. It is idempotent and safe for concurrent
// use. It closes the raw connection, without the TLS close_notify alert,
// which could wait up to seconds on a peer that does not read; frames are
// self-delimiting, so the peer loses nothing by its absence. It reports
// whether this call closed it.
func (c *conn) close() (first bool) {
	c.once.Do(func() {
		close(c.dead)
		_ = c.raw.Close()
		first = true
	})
	return first
}

// tlsState returns the connection's TLS state, or nil without TLS.
func (c *conn) tlsState() *tls.ConnectionState {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	cs := tc.ConnectionState()
	return &cs
}

// deadlineConn sets a fresh deadline before every Read and Write that
// reaches the socket; with buffered I/O around it, that is once per system
// call rather than once per message. A zero or negative timeout sets none.
// The timeouts must be set before the connection is shared between
// goroutines.
type deadlineConn struct {
	net.Conn
	readTimeout, writeTimeout time.Duration
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if d.readTimeout > 0 {
		if err := d.Conn.SetReadDeadline(time.Now().Add(d.readTimeout)); err != nil {
			return 0, err
		}
	}
	return d.Conn.Read(p)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if d.writeTimeout > 0 {
		if err := d.Conn.SetWriteDeadline(time.Now().Add(d.writeTimeout)); err != nil {
			return 0, err
		}
	}
	return d.Conn.Write(p)
}
