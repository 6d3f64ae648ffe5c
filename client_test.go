package chain_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// TestStaticClientFollowsReconfiguration (defect 9 of the safety issue): a
// client given the chain's initial members and no master keeps working
// after the master replaced the head: the nodes refuse it for its old
// epoch, it asks them for their configuration and adopts the newer one.
func TestStaticClientFollowsReconfiguration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := chaintest.Start(t, chaintest.Options{Nodes: 3, Master: true, FailureTimeout: 200 * time.Millisecond})
		initial := c.Config()
		cl, err := chain.NewClient(chain.WithTransport(c.Network()), chain.WithConfig(initial))
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cl.Append(ctx, []byte("before"))
		require.NoError(t, err)

		c.Kill(0)
		for c.Config().Epoch == initial.Epoch {
			time.Sleep(10 * time.Millisecond)
		}
		_, err = cl.Append(ctx, []byte("after"))
		require.NoError(t, err, "a write after the reconfiguration")
		got := cl.Config()
		require.Greater(t, got.Epoch, initial.Epoch, "the client holds the nodes' configuration")
		require.NotEqual(t, initial.Head().Addr, got.Head().Addr, "and the new head")
	})
}

// TestWriteOnlyClientGetsTheTailsReply (defect 7 of the safety issue): on a
// network where a client is reachable only over the connections it opened
// (as on TCP), a client that only writes, and so never reads from the
// tail, gets each write's reply from the tail, and sends each write once:
// no write waits for a retry to be answered by the head's de-duplication.
func TestWriteOnlyClientGetsTheTailsReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := chaintest.Start(t, chaintest.Options{Nodes: 3})
		c.Network().SetDialedOnly(true)
		tail := c.Config().Tail().Addr
		cl := c.Client()
		var mu sync.Mutex
		appends, tailReplies := 0, 0
		c.Network().SetTap(func(from, to string, msg chain.Message) {
			mu.Lock()
			defer mu.Unlock()
			switch m := msg.(type) {
			case *wire.ClientRequest:
				if from == cl.Addr() && m.Op == wire.OpAppend {
					appends++
				}
			case *wire.RequestBatch:
				for _, r := range m.Requests {
					if from == cl.Addr() && r.Op == wire.OpAppend {
						appends++
					}
				}
			case *wire.ClientResponse:
				if from == tail && to == cl.Addr() && m.Err == nil && m.Status == nil {
					tailReplies++
				}
			case *wire.ResponseBatch:
				for _, r := range m.Responses {
					if from == tail && to == cl.Addr() && r.Err == nil && r.Status == nil {
						tailReplies++
					}
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		const writes = 5
		for i := range writes {
			_, err := cl.Append(ctx, []byte{byte(i)})
			require.NoError(t, err)
		}
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, writes, appends, "each write sent once: none waited for a retry")
		require.Equal(t, writes, tailReplies, "each write answered by the tail")
	})
}

// TestClientResendsAtOnceOnNewConfiguration (defect 8 of the safety
// issue): while a write goes unanswered (its head died), the client asks
// the master for the configuration every retry interval, not at its
// call's growing backoff, and the moment it adopts a new configuration it
// sends the write to the new head, without waiting out the backoff.
func TestClientResendsAtOnceOnNewConfiguration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 50 * time.Millisecond
		net := inmem.New(inmem.Options{})
		defer net.Close()
		eps := listenAt(t, net, "master", "old", "new")
		master, oldHead, newHead := eps[0], eps[1], eps[2]
		cl, err := chain.NewClient(chain.WithTransport(net), chain.WithMaster("master"),
			chain.WithConfig(chain.Config{Epoch: 1, Members: []chain.Member{{ID: "old", Addr: "old"}}}),
			chain.WithRetryInterval(interval, time.Second))
		require.NoError(t, err)
		defer cl.Close()
		done := make(chan error, 1)
		go func() {
			_, err := cl.Append(context.Background(), []byte("x"))
			done <- err
		}()

		// The old head is dead: it ignores everything. Over ten retry
		// intervals the call's own backoff (1, 2, 4, 8 intervals) would
		// resend three times; the master is asked about every interval.
		time.Sleep(10 * interval)
		synctest.Wait()
		asked := 0
		for len(master.Receive()) > 0 {
			if _, ok := (<-master.Receive()).Msg.(*wire.ConfigRequest); ok {
				asked++
			}
		}
		require.GreaterOrEqual(t, asked, 8, "configuration requests while the write waited")
		for len(oldHead.Receive()) > 0 {
			<-oldHead.Receive()
		}

		require.NoError(t, master.Send(context.Background(), cl.Addr(), &wire.ConfigUpdate{
			Config: chain.Config{Epoch: 2, Members: []chain.Member{{ID: "new", Addr: "new"}}},
		}))
		synctest.Wait() // no time passes: whatever the client does now, it does on the update
		var write *wire.ClientRequest
		for write == nil && len(newHead.Receive()) > 0 {
			in := <-newHead.Receive()
			req, ok := in.Msg.(*wire.ClientRequest)
			switch {
			case ok && req.Op == wire.OpStatus:
				// The client learns its session's start stamp first (the
				// old head never answered it).
				require.NoError(t, newHead.Send(context.Background(), in.From, &wire.ClientResponse{ID: req.ID, Status: &wire.NodeStatus{}}))
				synctest.Wait()
			case ok && req.Op == wire.OpAppend:
				write = req
			}
		}
		require.NotNil(t, write, "the write went to the new head as the configuration came")
		require.Equal(t, uint64(2), write.Epoch)
		require.NoError(t, newHead.Send(context.Background(), cl.Addr(), &wire.ClientResponse{ID: write.ID, Offset: 1}))
		require.NoError(t, <-done)
	})
}

// TestClientFollowsNodesAheadOfItsMaster (a harness finding: a client
// stuck on "stale epoch" after the masters changed): the master a client
// asks answers with an older configuration than the nodes hold, so the
// master's answer never helps; the client asks the node that refused it
// for its configuration and follows it to the current head.
func TestClientFollowsNodesAheadOfItsMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := inmem.New(inmem.Options{})
		defer net.Close()
		eps := listenAt(t, net, "master", "old", "new")
		master, oldHead, newHead := eps[0], eps[1], eps[2]
		epoch1 := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "old", Addr: "old"}, {ID: "new", Addr: "new"}}}
		epoch2 := chain.Config{Epoch: 2, Members: []chain.Member{{ID: "new", Addr: "new"}}}
		cl, err := chain.NewClient(chain.WithTransport(net), chain.WithMaster("master"), chain.WithConfig(epoch1))
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The master is behind: it answers with epoch 1.
		go func() {
			for in := range master.Receive() {
				_ = master.Send(ctx, in.From, &wire.ConfigUpdate{Config: epoch1})
			}
		}()
		// The old node holds epoch 2, in which it is not the head: it
		// refuses requests of epoch 1 and reports its configuration.
		go func() {
			for in := range oldHead.Receive() {
				req, ok := in.Msg.(*wire.ClientRequest)
				if !ok {
					continue
				}
				resp := &wire.ClientResponse{ID: req.ID, Err: &wire.RemoteError{Code: wire.CodeStaleEpoch, Epoch: 2}}
				if req.Op == wire.OpStatus {
					resp = &wire.ClientResponse{ID: req.ID, Status: &wire.NodeStatus{ID: "old", Epoch: 2, Members: epoch2.Members}}
				}
				_ = oldHead.Send(ctx, in.From, resp)
			}
		}()
		// The new head serves epoch 2.
		go func() {
			for in := range newHead.Receive() {
				req, ok := in.Msg.(*wire.ClientRequest)
				if !ok {
					continue
				}
				switch {
				case req.Op == wire.OpStatus:
					_ = newHead.Send(ctx, in.From, &wire.ClientResponse{ID: req.ID, Status: &wire.NodeStatus{ID: "new", Epoch: 2, Members: epoch2.Members}})
				case req.Epoch != 2:
					_ = newHead.Send(ctx, in.From, &wire.ClientResponse{ID: req.ID, Err: &wire.RemoteError{Code: wire.CodeStaleEpoch, Epoch: 2}})
				default:
					_ = newHead.Send(ctx, in.From, &wire.ClientResponse{ID: req.ID, Offset: 7})
				}
			}
		}()
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		off, err := cl.Append(wctx, []byte("x"))
		require.NoError(t, err)
		require.Equal(t, uint64(7), off)
		require.Equal(t, uint64(2), cl.Config().Epoch)
	})
}

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

// TestClientRefusesOversizedPayloadsAtOnce: a payload over the max entry
// size fails with ErrTooLarge before anything is sent: no node listens
// here, so a request that went out would wait for the deadline.
func TestClientRefusesOversizedPayloadsAtOnce(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	c, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg), chain.WithMaxEntrySize(1000))
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	big := make([]byte, 1001)
	_, err = c.Append(ctx, big)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	_, err = c.Do(ctx, "put", big)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	_, err = c.Query(ctx, "get", big)
	require.ErrorIs(t, err, chain.ErrTooLarge)
	require.NoError(t, ctx.Err(), "the calls waited")

	_, err = chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg), chain.WithMaxEntrySize(0))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
}
