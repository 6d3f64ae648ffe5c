package tcp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

func TestListenReportsBoundPort(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	ep := listen(t, tr, "127.0.0.1:0")
	host, port, err := net.SplitHostPort(ep.Addr())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	require.NotEqual(t, "0", port)

	c := listen(t, tr, "")
	require.True(t, tcp.IsClientAddr(c.Addr()), c.Addr())
}

func TestInvalidOptions(t *testing.T) {
	for name, opts := range map[string]tcp.Options{
		"frame too large":   {MaxFrameSize: wire.MaxMessageSize + 1},
		"frame too small":   {MaxFrameSize: 100},
		"backoff inverted":  {ReconnectBackoffMin: time.Second, ReconnectBackoffMax: time.Millisecond},
		"negative queue":    {SendQueue: -1},
		"negative inbox":    {InboxSize: -1},
		"negative max wait": {ReconnectBackoffMax: -1},
	} {
		_, err := tcp.New(opts).Listen("127.0.0.1:0")
		require.ErrorIs(t, err, chain.ErrInvalidConfig, name)
	}
}

func TestSendArgumentErrors(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	ep := listen(t, tr, "127.0.0.1:0")
	ctx := context.Background()
	require.ErrorIs(t, ep.Send(ctx, ep.Addr(), nil), chain.ErrInvalidArgument)
	require.ErrorIs(t, ep.Send(ctx, "no-port", &wire.CommitNotice{}), chain.ErrInvalidArgument)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, ep.Send(cancelled, ep.Addr(), &wire.CommitNotice{}), context.Canceled)
}

func TestSendToUnknownClientIsDropped(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	ep := listen(t, tr, "127.0.0.1:0")
	other := newTCP(t, tcp.Options{})
	c := listen(t, other, "") // a real client address, but it never connected to ep
	require.NoError(t, ep.Send(context.Background(), c.Addr(), &wire.CommitNotice{}))
	require.Equal(t, uint64(1), tr.Stats().Dropped)
	requireNone(t, c, 50*time.Millisecond)
}

func TestTransportClose(t *testing.T) {
	tr := tcp.New(tcp.Options{})
	a, err := tr.Listen("127.0.0.1:0")
	require.NoError(t, err)
	b, err := tr.Listen("")
	require.NoError(t, err)
	send(t, b, a.Addr(), &wire.CommitNotice{Commit: 1})
	recv(t, a)

	require.NoError(t, tr.Close())
	require.NoError(t, tr.Close())
	for _, ep := range []chain.Endpoint{a, b} {
		_, ok := <-ep.Receive()
		require.False(t, ok)
		require.ErrorIs(t, ep.Send(context.Background(), a.Addr(), &wire.CommitNotice{}), chain.ErrClosed)
	}
	_, err = tr.Listen("127.0.0.1:0")
	require.ErrorIs(t, err, chain.ErrClosed)
}

// TestOversizedFrameClosesConnection sends, by hand, a hello and then a
// header announcing a 1 GiB frame: the server closes the connection without
// allocating the frame.
func TestOversizedFrameClosesConnection(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	srv := listen(t, tr, "127.0.0.1:0")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(append(rawHello("127.0.0.1:1"), binary.BigEndian.AppendUint32(nil, 1<<30)...))
	require.NoError(t, err)
	requireClosedByPeer(t, c)
	runtime.ReadMemStats(&after)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "the server allocated for the oversized frame")

	// The endpoint still serves other connections.
	cl := listen(t, tr, "")
	send(t, cl, srv.Addr(), &wire.CommitNotice{Commit: 1})
	require.Equal(t, cl.Addr(), recv(t, srv).From)
}

// TestBadHelloRejected: a connection whose first frame is not a valid hello
// is closed before anything on it is delivered.
func TestBadHelloRejected(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	srv := listen(t, tr, "127.0.0.1:0")
	frame := func(p ...byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...) }
	for name, first := range map[string][]byte{
		"message first":      frame(byte(wire.KindCommitNotice), 0x80),
		"bad magic":          frame(0x80, 'x', 'x', 'x', 1, 'a', ':', '1'),
		"undialable address": rawHello("nowhere"),
		"oversized hello":    binary.BigEndian.AppendUint32(nil, 1<<20),
		"not our protocol":   []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		c, err := net.Dial("tcp", srv.Addr())
		require.NoError(t, err, name)
		_, err = c.Write(first)
		require.NoError(t, err, name)
		requireClosedByPeer(t, c)
		_ = c.Close()
	}
	eventually(t, func() bool { return tr.Stats().Rejected == 5 }, "rejections not counted")
	requireNone(t, srv, 20*time.Millisecond)
}

// TestReconnectAfterServerRestart closes the server's whole transport and
// starts a new one on the same port: a listening endpoint and a client
// endpoint on another transport reach it again, and get its replies.
func TestReconnectAfterServerRestart(t *testing.T) {
	opts := tcp.Options{ReconnectBackoffMin: 5 * time.Millisecond, ReconnectBackoffMax: 50 * time.Millisecond}
	srvTr := tcp.New(opts)
	srv, err := srvTr.Listen("127.0.0.1:0")
	require.NoError(t, err)
	addr := srv.Addr()

	cliTr := newTCP(t, opts)
	senders := []chain.Endpoint{listen(t, cliTr, "127.0.0.1:0"), listen(t, cliTr, "")}
	for _, s := range senders {
		send(t, s, addr, &wire.ClientRequest{ID: 1})
		require.Equal(t, s.Addr(), recv(t, srv).From)
	}
	require.NoError(t, srvTr.Close())

	// While the server is down, sends succeed (best effort) and are lost:
	// in the dying connection, or dropped when the redial fails.
	for _, s := range senders {
		before := cliTr.Stats().DialFailures
		id := uint64(100)
		eventually(t, func() bool {
			id++
			send(t, s, addr, &wire.ClientRequest{ID: id})
			return cliTr.Stats().DialFailures > before
		}, "no failed dial while the server was down")
	}

	srvTr2 := newTCP(t, opts)
	srv2 := listen(t, srvTr2, addr)
	// A message queued after the last failed attempt may still arrive,
	// so only messages from this phase (ID >= 1000) are waited for.
	for _, s := range senders {
		reached := false
		for i := uint64(0); i < 200 && !reached; i++ {
			send(t, s, addr, &wire.ClientRequest{ID: 1000 + i})
			timeout := time.After(25 * time.Millisecond)
			for waiting := true; waiting && !reached; {
				select {
				case in := <-srv2.Receive():
					reached = in.From == s.Addr() && in.Msg.(*wire.ClientRequest).ID >= 1000
				case <-timeout:
					waiting = false
				}
			}
		}
		require.True(t, reached, "%s did not reconnect", s.Addr())
		// The reply goes back (over the new connection, for the client).
		send(t, srv2, s.Addr(), &wire.ClientResponse{ID: 7})
		for {
			in := recv(t, s)
			if resp, ok := in.Msg.(*wire.ClientResponse); ok && resp.ID == 7 {
				require.Equal(t, addr, in.From)
				break
			}
		}
	}
	require.GreaterOrEqual(t, cliTr.Stats().Dials, uint64(4))
}

// TestBackpressure: a receiver that does not read makes Send block until
// ctx is done, after a bounded number of messages; reading again releases
// it, and no accepted message is lost.
func TestBackpressure(t *testing.T) {
	srvTr := newTCP(t, tcp.Options{InboxSize: 1, WriteTimeout: time.Minute})
	srv := listen(t, srvTr, "127.0.0.1:0")
	cliTr := newTCP(t, tcp.Options{SendQueue: 4, WriteTimeout: time.Minute})
	cl := listen(t, cliTr, "")

	data := make([]byte, 64<<10)
	const limit = 2000 // 125 MiB: far beyond what the buffers along the way hold
	accepted := 0
	var blocked error
	for accepted < limit {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		err := cl.Send(ctx, srv.Addr(), &wire.ClientRequest{ID: uint64(accepted), Data: data})
		cancel()
		if err != nil {
			blocked = err
			require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "Send gave up before ctx was done")
			break
		}
		accepted++
	}
	require.ErrorIs(t, blocked, context.DeadlineExceeded, "Send never blocked after %d messages", accepted)
	t.Logf("Send blocked after %d messages of %d KiB", accepted, len(data)>>10)

	// Drain: every accepted message arrives, in order, and sending works
	// again.
	for i := range accepted {
		in := recv(t, srv)
		require.Equal(t, uint64(i), in.Msg.(*wire.ClientRequest).ID)
	}
	send(t, cl, srv.Addr(), &wire.ClientRequest{ID: 99999})
	require.Equal(t, uint64(99999), recv(t, srv).Msg.(*wire.ClientRequest).ID)
}

// TestReadIdleTimeout: an accepted connection that stays silent is closed,
// while a dialing endpoint's keepalives keep its idle connection open.
func TestReadIdleTimeout(t *testing.T) {
	opts := tcp.Options{ReadIdleTimeout: 150 * time.Millisecond}
	srvTr := newTCP(t, opts)
	srv := listen(t, srvTr, "127.0.0.1:0")

	c, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(rawHello("127.0.0.1:1"))
	require.NoError(t, err)
	start := time.Now()
	requireClosedByPeer(t, c)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	cliTr := newTCP(t, opts)
	cl := listen(t, cliTr, "")
	send(t, cl, srv.Addr(), &wire.CommitNotice{Commit: 1})
	recv(t, srv)
	time.Sleep(600 * time.Millisecond) // four idle timeouts
	send(t, cl, srv.Addr(), &wire.CommitNotice{Commit: 2})
	recv(t, srv)
	send(t, srv, cl.Addr(), &wire.CommitNotice{Commit: 3})
	recv(t, cl)
	require.Equal(t, uint64(1), cliTr.Stats().Dials, "the idle connection was not kept")
}

// TestOversizedOutgoingMessageDropped: a message longer than MaxFrameSize is
// dropped by the sender, and the connection goes on.
func TestOversizedOutgoingMessageDropped(t *testing.T) {
	tr := newTCP(t, tcp.Options{MaxFrameSize: 4096})
	srv := listen(t, tr, "127.0.0.1:0")
	cl := listen(t, tr, "")
	send(t, cl, srv.Addr(), &wire.ClientRequest{ID: 1, Data: make([]byte, 8192)})
	send(t, cl, srv.Addr(), &wire.ClientRequest{ID: 2, Data: make([]byte, 100)})
	require.Equal(t, uint64(2), recv(t, srv).Msg.(*wire.ClientRequest).ID)
	require.Equal(t, uint64(1), tr.Stats().Dropped)
}

// TestManyPeers: one endpoint sends to many listening endpoints at once;
// each gets its own messages.
func TestManyPeers(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	src := listen(t, tr, "127.0.0.1:0")
	dsts := make([]chain.Endpoint, 8)
	for i := range dsts {
		dsts[i] = listen(t, tr, "127.0.0.1:0")
	}
	for r := range uint64(20) {
		for i, d := range dsts {
			send(t, src, d.Addr(), &wire.ClientRequest{ID: r, Name: strconv.Itoa(i)})
		}
	}
	for i, d := range dsts {
		for r := range uint64(20) {
			in := recv(t, d)
			m := in.Msg.(*wire.ClientRequest)
			require.Equal(t, r, m.ID)
			require.Equal(t, strconv.Itoa(i), m.Name)
		}
	}
}

// TestMalformedMessageClosesConnection: after a valid hello, a frame that
// does not decode closes the connection; what came before it is delivered.
func TestMalformedMessageClosesConnection(t *testing.T) {
	tr := newTCP(t, tcp.Options{})
	srv := listen(t, tr, "127.0.0.1:0")
	good, err := wire.EncodeMessage(nil, &wire.CommitNotice{Commit: 5})
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"bad msgpack":  {byte(wire.KindClientRequest), 0xc1},
		"unknown kind": {0x7f, 0x80},
		"second hello": rawHello("127.0.0.1:2")[4:],
		"zero length":  {},
		// 1 MiB of empty arrays: a million requests, refused by the decode
		// budget before the decoder allocates them.
		"amplification": append([]byte{byte(wire.KindRequestBatch), 0x91, 0xdd, 0x00, 0x10, 0x00, 0x00},
			bytes.Repeat([]byte{0x90}, 1<<20)...),
	} {
		c, err := net.Dial("tcp", srv.Addr())
		require.NoError(t, err, name)
		stream := append(rawHello("127.0.0.1:1"), frame(good)...)
		stream = append(stream, frame(bad)...)
		stream = append(stream, frame(good)...)
		_, err = c.Write(stream)
		require.NoError(t, err, name)
		requireClosedByPeer(t, c)
		_ = c.Close()
		in := recv(t, srv)
		require.Equal(t, "127.0.0.1:1", in.From, name)
		require.Equal(t, &wire.CommitNotice{Commit: 5}, in.Msg, name)
		requireNone(t, srv, 20*time.Millisecond)
	}
}

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

// openClientRoute connects to srv as a client that never reads, with a
// small receive buffer, and returns the connection and its address once
// srv has a route back to it.
func openClientRoute(t *testing.T, srv chain.Endpoint) (net.Conn, string) {
	t.Helper()
	client := "client-" + strings.Repeat("cd", 16)
	c, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.(*net.TCPConn).SetReadBuffer(4096))
	hello, err := wire.EncodeMessage(nil, &wire.CommitNotice{Commit: 1})
	require.NoError(t, err)
	_, err = c.Write(append(rawHello(client), frame(hello)...))
	require.NoError(t, err)
	require.Equal(t, client, recv(t, srv).From) // the route back exists once this arrives
	return c, client
}

// TestClientBacklogIsBoundedByBytes: replies waiting for a client that
// does not read are bounded by bytes, not only by count: with room for
// 17,408 messages, 2,000 replies of 64 KiB (125 MiB) to a client that
// reads nothing close its connection once 4 MiB wait, and the rest are
// dropped at once.
func TestClientBacklogIsBoundedByBytes(t *testing.T) {
	tr := newTCP(t, tcp.Options{WriteTimeout: time.Hour, ClientBacklogBytes: 4 << 20})
	srv := listen(t, tr, "127.0.0.1:0")
	c, client := openClientRoute(t, srv)

	reply := &wire.ClientResponse{Result: make([]byte, 64<<10)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const replies = 2000
	for i := range replies {
		require.NoError(t, srv.Send(ctx, client, reply), "reply %d", i)
	}
	// What the sockets' buffers took is at most a few MiB: far fewer
	// than the replies sent were written, and the rest were dropped.
	st := tr.Stats()
	require.Greater(t, st.Dropped, uint64(replies/2), "replies dropped (sent %d)", st.Sent)
	requireClosedByPeer(t, c)
}

// TestReplyLargerThanTheByteBoundIsSent: a reply larger than
// ClientBacklogBytes, with nothing else waiting, reaches the client.
func TestReplyLargerThanTheByteBoundIsSent(t *testing.T) {
	srvTr := newTCP(t, tcp.Options{ClientBacklogBytes: 1 << 10})
	srv := listen(t, srvTr, "127.0.0.1:0")
	cli := listen(t, newTCP(t, tcp.Options{}), "")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, cli.Send(ctx, srv.Addr(), &wire.CommitNotice{Commit: 1}))
	in := recv(t, srv)
	big := &wire.ClientResponse{ID: 7, Result: make([]byte, 256<<10)}
	require.NoError(t, srv.Send(ctx, in.From, big))
	got := recv(t, cli).Msg.(*wire.ClientResponse)
	require.Equal(t, uint64(7), got.ID)
	require.Len(t, got.Result, 256<<10)
}
