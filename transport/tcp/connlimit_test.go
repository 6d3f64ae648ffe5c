package tcp_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// dialFrom opens a raw connection to addr from the loopback address local.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// requireServed requires that a message sent on c, after a hello as from,
// reaches srv: the endpoint accepted the connection.
func requireServed(t *testing.T, srv chain.Endpoint, c net.Conn, from string) {
	t.Helper()
	msg, err := wire.EncodeMessage(nil, &wire.CommitNotice{Commit: 1})
	require.NoError(t, err)
	_, err = c.Write(append(rawHello(from), frame(msg)...))
	require.NoError(t, err)
	require.Equal(t, from, recv(t, srv).From)
}

// TestAcceptedConnectionsAreBounded: connections beyond MaxConnsPerHost
// from one host, or beyond MaxConns in all, are closed at once, before
// their handshake; closing one makes room for another.
func TestAcceptedConnectionsAreBounded(t *testing.T) {
	tr := newTCP(t, tcp.Options{MaxConns: 6, MaxConnsPerHost: 4, DialTimeout: time.Hour})
	srv := listen(t, tr, "127.0.0.1:0")

	var first []net.Conn
	for range 4 { // idle: no hello, held open by the hour-long handshake timeout
		first = append(first, dialFrom(t, "127.0.0.1", srv.Addr()))
	}
	requireClosedByPeer(t, dialFrom(t, "127.0.0.1", srv.Addr())) // a fifth from the same host

	second := []net.Conn{dialFrom(t, "127.0.0.2", srv.Addr()), dialFrom(t, "127.0.0.2", srv.Addr())}
	requireClosedByPeer(t, dialFrom(t, "127.0.0.2", srv.Addr())) // a seventh in all

	// The admitted connections are served.
	requireServed(t, srv, first[0], "127.0.0.1:7001")
	requireServed(t, srv, second[0], "127.0.0.1:7002")

	// One closed, one more from the first host fits again.
	require.NoError(t, first[1].Close())
	require.Eventually(t, func() bool {
		c := dialFrom(t, "127.0.0.1", srv.Addr())
		msg, err := wire.EncodeMessage(nil, &wire.CommitNotice{Commit: 2})
		require.NoError(t, err)
		if _, err := c.Write(append(rawHello("127.0.0.1:7003"), frame(msg)...)); err != nil {
			return false
		}
		select {
		case in := <-srv.Receive():
			return in.From == "127.0.0.1:7003"
		case <-time.After(100 * time.Millisecond):
			_ = c.Close()
			return false
		}
	}, waitTimeout, 10*time.Millisecond)
}
