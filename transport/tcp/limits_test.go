package tcp_test

import (
	"context"
	"net"
	"strings"
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

// TestClientThatStopsReadingIsDisconnected: replies to a client that does
// not read them never hold up the sender. Once the client's queue is
// full, its connection is closed and the rest are dropped; every Send
// returns at once, though writes to the socket would wait for an hour.
func TestClientThatStopsReadingIsDisconnected(t *testing.T) {
	tr := newTCP(t, tcp.Options{SendQueue: 4, WriteTimeout: time.Hour})
	srv := listen(t, tr, "127.0.0.1:0")
	client := "client-" + strings.Repeat("ab", 16)
	require.True(t, tcp.IsClientAddr(client))

	c, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(4096))
	hello, err := wire.EncodeMessage(nil, &wire.CommitNotice{Commit: 1})
	require.NoError(t, err)
	_, err = c.Write(append(rawHello(client), frame(hello)...))
	require.NoError(t, err)
	in := recv(t, srv) // the route back to the client exists once this arrives
	require.Equal(t, client, in.From)

	// Far more than the queue and the sockets' buffers hold: without the
	// bound, Send would wait for room until its context ends.
	reply := &wire.ClientResponse{Result: make([]byte, 64<<10)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 5000 {
		require.NoError(t, srv.Send(ctx, client, reply), "reply %d", i)
	}
	requireClosedByPeer(t, c)
}
