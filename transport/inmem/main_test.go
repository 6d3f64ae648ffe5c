package inmem_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/transport/transporttest"
	"github.com/chainrep/chain/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newNet returns a Network closed at the end of the test.
func newNet(t *testing.T, opts inmem.Options) *inmem.Network {
	t.Helper()
	n := inmem.New(opts)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func listen(t *testing.T, n *inmem.Network, addr string) chain.Endpoint {
	t.Helper()
	ep, err := n.Listen(addr)
	require.NoError(t, err)
	return ep
}

// send sends a ClientRequest with the given ID and requires success.
func send(t *testing.T, from chain.Endpoint, to string, id uint64) {
	t.Helper()
	require.NoError(t, from.Send(context.Background(), to, &wire.ClientRequest{Op: wire.OpAppend, ID: id}))
}

// recv waits for one message on ep.
func recv(t *testing.T, ep chain.Endpoint) chain.Inbound {
	t.Helper()
	return transporttest.Receive(t, ep, 5*time.Second)
}

// recvIDs receives count ClientRequests on ep and returns their IDs in
// arrival order.
func recvIDs(t *testing.T, ep chain.Endpoint, count int) []uint64 {
	t.Helper()
	ids := make([]uint64, 0, count)
	for range count {
		in := recv(t, ep)
		req, ok := in.Msg.(*wire.ClientRequest)
		require.True(t, ok, "got %T", in.Msg)
		ids = append(ids, req.ID)
	}
	return ids
}

// requireNone requires that nothing arrives on ep for a short while.
func requireNone(t *testing.T, ep chain.Endpoint) {
	t.Helper()
	transporttest.RequireNone(t, ep, 20*time.Millisecond)
}
