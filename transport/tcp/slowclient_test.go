package tcp_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

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
