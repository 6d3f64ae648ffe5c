package mux_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/transport/transporttest"
	"github.com/chainrep/chain/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitTimeout = 10 * time.Second

// newNet returns an inmem Network closed at the end of the test.
func newNet(t testing.TB) *inmem.Network {
	t.Helper()
	n := inmem.New(inmem.Options{})
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// newTCP returns a tcp Transport closed at the end of the test.
func newTCP(t testing.TB) *tcp.Transport {
	t.Helper()
	tr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// listen opens addr on tr, closed at the end of the test.
func listen(t testing.TB, tr chain.Transport, addr string) chain.Endpoint {
	t.Helper()
	return transporttest.Listen(t, tr, addr)
}

func req(id uint64, data string) *wire.ClientRequest {
	return &wire.ClientRequest{Op: wire.OpAppend, ID: id, Data: []byte(data)}
}

func send(t testing.TB, from chain.Endpoint, to string, msg chain.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, from.Send(ctx, to, msg), "Send from %s to %s", from.Addr(), to)
}

func recv(t testing.TB, ep chain.Endpoint) chain.Inbound {
	t.Helper()
	return transporttest.Receive(t, ep, waitTimeout)
}

// recvReq receives a ClientRequest from from on ep.
func recvReq(t testing.TB, ep chain.Endpoint, from string) *wire.ClientRequest {
	t.Helper()
	in := recv(t, ep)
	require.Equal(t, from, in.From, "%s: sender", ep.Addr())
	m, ok := in.Msg.(*wire.ClientRequest)
	require.True(t, ok, "%s: got %T", ep.Addr(), in.Msg)
	return m
}

// requireNone requires that nothing arrives on ep for a short while.
func requireNone(t testing.TB, ep chain.Endpoint) {
	t.Helper()
	transporttest.RequireNone(t, ep, 50*time.Millisecond)
}

// requireClosed requires ep's Receive channel to be closed within
// waitTimeout, after at most max messages.
func requireClosed(t testing.TB, ep chain.Endpoint, maxLeft int) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for n := 0; ; n++ {
		select {
		case _, ok := <-ep.Receive():
			if !ok {
				return
			}
			require.Less(t, n, maxLeft, "%s: more messages than expected", ep.Addr())
		case <-timer.C:
			t.Fatalf("%s: Receive not closed within %v", ep.Addr(), waitTimeout)
		}
	}
}

// eventually polls cond every 5ms for up to waitTimeout.
func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 5*time.Millisecond, msg)
}
