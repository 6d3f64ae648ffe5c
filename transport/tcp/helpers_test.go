package tcp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/transport/transporttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitTimeout = 10 * time.Second

func listen(t testing.TB, tr *tcp.Transport, addr string) chain.Endpoint {
	t.Helper()
	return transporttest.Listen(t, tr, addr)
}

func send(t testing.TB, from chain.Endpoint, to string, msg chain.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, from.Send(ctx, to, msg))
}

func recv(t testing.TB, ep chain.Endpoint) chain.Inbound {
	t.Helper()
	return transporttest.Receive(t, ep, waitTimeout)
}

// requireNone requires that nothing arrives on ep for d.
func requireNone(t testing.TB, ep chain.Endpoint, d time.Duration) {
	t.Helper()
	transporttest.RequireNone(t, ep, d)
}

// eventually polls cond every 10ms for up to waitTimeout.
func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// frame returns p as one length-prefixed frame.
func frame(p []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...) }

// rawHello is the hello frame as the wire format defines it, built by hand.
func rawHello(addr string) []byte {
	payload := append([]byte{0x80, 'c', 'h', 'n', 1}, addr...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// requireClosedByPeer requires that the remote end closes c within
// waitTimeout, reading and discarding anything it sends.
func requireClosedByPeer(t testing.TB, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(waitTimeout)))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection not closed by the peer")
		}
		return // EOF or reset
	}
}
