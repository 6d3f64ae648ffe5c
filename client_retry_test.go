package chain_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// TestClientRetriesOnScheduleWithTheSameID runs, in virtual time, a client
// against a head that ignores the first three copies of a request: the
// client sends it again after the retry interval, then after twice and four
// times that (each at most a quarter of the first interval late), always
// with the same ID, and takes the answer to the fourth copy. (It also
// probes the node for its status, which the fake head ignores.)
func TestClientRetriesOnScheduleWithTheSameID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		head, cl := fakeHeadClient(t, 1, interval)

		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := cl.Append(context.Background(), []byte("x"))
			done <- err
		}()
		var arrivals []time.Duration
		var ids []uint64
		for len(arrivals) < 4 {
			in := <-head.Receive()
			req, ok := in.Msg.(*wire.ClientRequest)
			require.True(t, ok, "got %T", in.Msg)
			if req.Op == wire.OpStatus {
				// The client's probe for the configuration, or its
				// session's start stamp: a commit point.
				require.NoError(t, head.Send(context.Background(), in.From, &wire.ClientResponse{ID: req.ID, Status: &wire.NodeStatus{CommitPoint: 5}}))
				continue
			}
			require.Equal(t, uint64(5), req.Since, "the append carries its session's start stamp")
			arrivals = append(arrivals, time.Since(start))
			ids = append(ids, req.ID)
			if len(arrivals) == 4 {
				require.NoError(t, head.Send(context.Background(), in.From, &wire.ClientResponse{ID: req.ID, Offset: 1}))
			}
		}
		require.NoError(t, <-done)

		require.Equal(t, []uint64{ids[0], ids[0], ids[0], ids[0]}, ids, "every copy has the same ID")
		require.Zero(t, arrivals[0], "the first copy goes at once")
		for i, backoff := range []time.Duration{interval, 2 * interval, 4 * interval} {
			gap := arrivals[i+1] - arrivals[i]
			require.GreaterOrEqual(t, gap, backoff, "retry %d", i+1)
			require.LessOrEqual(t, gap, backoff+interval/4, "retry %d", i+1)
		}
	})
}

// TestClientRetriesAtTheFirstIntervalWhileTheNodeCatchesUp (defect 8 of
// the safety issue): a head that refuses a client for an epoch older than
// the client's is about to learn the client's configuration, so the client
// retries at its first interval rather than backing off: the gaps between
// copies stay one interval (each at most a quarter interval late).
func TestClientRetriesAtTheFirstIntervalWhileTheNodeCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 100 * time.Millisecond
		head, cl := fakeHeadClient(t, 2, interval)

		done := make(chan error, 1)
		go func() {
			_, err := cl.Append(context.Background(), []byte("x"))
			done <- err
		}()
		var arrivals []time.Time
		for len(arrivals) < 4 {
			in := <-head.Receive()
			req, ok := in.Msg.(*wire.ClientRequest)
			require.True(t, ok, "got %T", in.Msg)
			if req.Op == wire.OpStatus {
				st := &wire.NodeStatus{ID: "h", Epoch: 1, Members: []chain.Member{{ID: "h", Addr: "head"}}}
				require.NoError(t, head.Send(context.Background(), in.From, &wire.ClientResponse{ID: req.ID, Status: st}))
				continue
			}
			arrivals = append(arrivals, time.Now())
			resp := &wire.ClientResponse{ID: req.ID, Err: &wire.RemoteError{Code: wire.CodeStaleEpoch, Epoch: 1}}
			if len(arrivals) == 4 {
				resp = &wire.ClientResponse{ID: req.ID, Offset: 1}
			}
			require.NoError(t, head.Send(context.Background(), in.From, resp))
		}
		require.NoError(t, <-done)
		for i := 1; i < len(arrivals); i++ {
			gap := arrivals[i].Sub(arrivals[i-1])
			require.GreaterOrEqual(t, gap, interval, "retry %d", i)
			require.LessOrEqual(t, gap, interval+interval/4, "retry %d", i)
		}
	})
}

// fakeHeadClient starts, on a new in-memory network, an endpoint at
// "head" that the test plays, and a client of the one-node chain of that
// head at epoch, with the given first retry interval (max 1s).
func fakeHeadClient(t *testing.T, epoch uint64, interval time.Duration) (chain.Endpoint, *chain.Client) {
	t.Helper()
	net := inmem.New(inmem.Options{})
	t.Cleanup(func() { net.Close() })
	head := listenAt(t, net, "head")[0]
	cl, err := chain.NewClient(chain.WithTransport(net),
		chain.WithConfig(chain.Config{Epoch: epoch, Members: []chain.Member{{ID: "h", Addr: "head"}}}),
		chain.WithRetryInterval(interval, time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	return head, cl
}

// listenAt opens endpoints at addrs on net.
func listenAt(t *testing.T, net *inmem.Network, addrs ...string) []chain.Endpoint {
	t.Helper()
	eps := make([]chain.Endpoint, len(addrs))
	for i, addr := range addrs {
		ep, err := net.Listen(addr)
		require.NoError(t, err)
		eps[i] = ep
	}
	return eps
}
