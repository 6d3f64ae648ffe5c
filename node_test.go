package chain_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

var errFailing = errors.New("this command always fails")

func TestAppendReadLatest(t *testing.T) {
	for _, nodes := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			c := chaintest.Start(t, chaintest.Options{Nodes: nodes})
			cl := c.Client()
			ctx := testCtx(t)
			for i := 1; i <= 20; i++ {
				off, err := cl.Append(ctx, []byte(fmt.Sprintf("e%d", i)))
				require.NoError(t, err)
				require.Equal(t, uint64(i), off)
			}
			ents, err := cl.Read(ctx, 1, 100)
			require.NoError(t, err)
			require.Len(t, ents, 20)
			for i, e := range ents {
				require.Equal(t, uint64(i+1), e.Offset)
				require.Equal(t, fmt.Sprintf("e%d", i+1), string(e.Data))
				require.Equal(t, cl.Addr(), e.Client)
			}
			ents, err = cl.Read(ctx, 15, 3)
			require.NoError(t, err)
			require.Len(t, ents, 3)
			require.Equal(t, uint64(15), ents[0].Offset)
			ents, err = cl.Read(ctx, 21, 10)
			require.NoError(t, err)
			require.Empty(t, ents)
			latest, err := cl.Latest(ctx)
			require.NoError(t, err)
			require.Equal(t, uint64(20), latest)
			require.NoError(t, c.WaitConverged(ctx))
			require.Zero(t, c.CheckInvariants())
			// Every node's log holds the committed entries.
			for i := range nodes {
				local, err := c.Node(i).Log().Read(ctx, 1, 100)
				require.NoError(t, err)
				require.Len(t, local, 20)
			}
		})
	}
}

func TestCommandsReachEveryNodeAndQueryTheTail(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3})
	cl := c.Client()
	ctx := testCtx(t)
	for i := uint64(1); i <= 10; i++ {
		out, err := cl.Do(ctx, "incr", nil)
		require.NoError(t, err)
		require.Equal(t, i, decodeCount(t, out))
	}
	out, err := cl.Query(ctx, "count", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(10), decodeCount(t, out))
	require.NoError(t, c.WaitConverged(ctx))
	for i := range 3 {
		require.Equal(t, uint64(10), counters(i).value(), "node %d", i)
	}
}

func TestHandlerErrorReachesClient(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 2})
	cl := c.Client()
	_, err := cl.Do(testCtx(t), "fail", nil)
	require.ErrorIs(t, err, chain.ErrCommandFailed)
	require.ErrorContains(t, err, errFailing.Error())
}

func TestBadInputGetsClearErrors(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 3, NodeOptions: []chain.NodeOption{chain.WithMaxEntrySize(1024)}})
	cl := c.Client()
	ctx := testCtx(t)

	_, err := cl.Do(ctx, "no-such-command", nil)
	require.ErrorIs(t, err, chain.ErrUnknownCommand)
	require.ErrorContains(t, err, "no-such-command")

	_, err = cl.Query(ctx, "no-such-query", nil)
	require.ErrorIs(t, err, chain.ErrUnknownQuery)

	_, err = cl.Append(ctx, make([]byte, 1025))
	require.ErrorIs(t, err, chain.ErrTooLarge)
	_, err = cl.Query(ctx, "count", make([]byte, 1025))
	require.ErrorIs(t, err, chain.ErrTooLarge)

	_, err = cl.Do(ctx, "", nil)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	_, err = cl.Read(ctx, 0, 10)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	_, err = cl.Read(ctx, 1, 0)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)

	// Nothing of the refused writes reached the log.
	latest, err := cl.Latest(ctx)
	require.NoError(t, err)
	require.Zero(t, latest)
}

// rawEndpoint opens an endpoint on the cluster's network for speaking the
// wire protocol directly.
func rawEndpoint(t *testing.T, c *chaintest.Cluster, addr string) chain.Endpoint {
	t.Helper()
	ep, err := c.Network().Listen(addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ep.Close() })
	return ep
}

// roundTrip sends req to addr, as a client would, until the response with
// its ID arrives. It runs in a synctest bubble: once the response is in, it
// waits for the chain to be idle and discards what else came to ep (the
// answers to copies it resent), so that a later request with the same ID
// cannot take one of those for its own.
func roundTrip(t *testing.T, ep chain.Endpoint, to string, req *wire.ClientRequest) *wire.ClientResponse {
	t.Helper()
	timeout := time.After(10 * time.Second)
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	require.NoError(t, ep.Send(context.Background(), to, req))
	for {
		select {
		case in := <-ep.Receive():
			if resp, ok := in.Msg.(*wire.ClientResponse); ok && resp.ID == req.ID {
				retry.Stop()
				synctest.Wait()
				discardReceived(ep)
				return resp
			}
		case <-retry.C:
			require.NoError(t, ep.Send(context.Background(), to, req))
		case <-timeout:
			t.Fatalf("no response to request %d", req.ID)
		}
	}
}

// discardReceived drops the messages waiting on ep.
func discardReceived(ep chain.Endpoint) {
	for {
		select {
		case <-ep.Receive():
		default:
			return
		}
	}
}

func TestWrongNodeIsRefusedWithRedirect(t *testing.T) {
	synctest.Test(t, testWrongNodeIsRefusedWithRedirect)
}

func testWrongNodeIsRefusedWithRedirect(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 3})
	ep := rawEndpoint(t, c, "")

	resp := roundTrip(t, ep, c.Addr(1), &wire.ClientRequest{Op: wire.OpAppend, ID: 1, Data: []byte("x")})
	require.NotNil(t, resp.Err)
	require.ErrorIs(t, resp.Err, chain.ErrNotHead)
	require.Equal(t, c.Addr(0), resp.Err.Redirect)

	resp = roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpQuery, ID: 2, Name: "count"})
	require.ErrorIs(t, resp.Err, chain.ErrNotTail)
	require.Equal(t, c.Addr(2), resp.Err.Redirect)

	resp = roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpAppend, ID: 3, Epoch: 7})
	require.ErrorIs(t, resp.Err, chain.ErrStaleEpoch)
	require.Equal(t, uint64(1), resp.Err.Epoch)

	resp = roundTrip(t, ep, c.Addr(0), &wire.ClientRequest{Op: wire.OpAppend, ID: 0})
	require.ErrorIs(t, resp.Err, chain.ErrInvalidArgument)
}

func TestClientFollowsRedirects(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 3})
	// A client whose configuration lists the members in the wrong order
	// is redirected by the nodes and still gets through.
	wrong := c.Config()
	wrong.Members[0], wrong.Members[2] = wrong.Members[2], wrong.Members[0]
	cl := c.Client(chain.WithConfig(wrong))
	ctx := testCtx(t)
	out, err := cl.Do(ctx, "incr", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), decodeCount(t, out))
	out, err = cl.Query(ctx, "count", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), decodeCount(t, out))
}

func TestNodeAndClientValidation(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "a", Addr: "a"}}}
	st := memory.New()
	defer st.Close()

	cases := []struct {
		name string
		id   string
		opts []chain.NodeOption
	}{
		{"no transport", "a", []chain.NodeOption{chain.WithStorage(st), chain.WithConfig(cfg)}},
		{"no storage", "a", []chain.NodeOption{chain.WithTransport(net), chain.WithConfig(cfg)}},
		{"no config", "a", []chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st)}},
		{"not a member", "b", []chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(cfg)}},
		{"empty id", "", []chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(cfg)}},
		{"zero epoch", "a", []chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(chain.Config{Members: cfg.Members})}},
		{"duplicate member", "a", []chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(chain.Config{Epoch: 1, Members: []chain.Member{{ID: "a", Addr: "a"}, {ID: "a", Addr: "b"}}})}},
		{"bad option", "a", []chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(cfg), chain.WithMaxEntrySize(0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := chain.NewNode(tc.id, tc.opts...)
			require.Error(t, err)
			require.True(t, errors.Is(err, chain.ErrInvalidConfig) || errors.Is(err, chain.ErrInvalidArgument), "%v", err)
		})
	}

	n, err := chain.NewNode("a", chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(cfg))
	require.NoError(t, err)
	require.ErrorIs(t, n.Handle("", func(context.Context, chain.Entry) ([]byte, error) { return nil, nil }), chain.ErrInvalidArgument)
	require.ErrorIs(t, n.Handle("x", nil), chain.ErrInvalidArgument)
	noop := func(context.Context, chain.Entry) ([]byte, error) { return nil, nil }
	require.NoError(t, n.Handle("x", noop))
	require.ErrorIs(t, n.Handle("x", noop), chain.ErrInvalidArgument)
	require.NoError(t, n.Start(context.Background()))
	require.ErrorIs(t, n.Handle("y", noop), chain.ErrStarted)
	require.ErrorIs(t, n.Start(context.Background()), chain.ErrStarted)
	require.NoError(t, n.Close())
	require.NoError(t, n.Close())
	require.ErrorIs(t, n.Err(), chain.ErrClosed)

	_, err = chain.NewClient(chain.WithConfig(cfg))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
	_, err = chain.NewClient(chain.WithTransport(net))
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
}

func TestHandlerPanicsAndOversizedResultsAreErrors(t *testing.T) {
	c, _ := counterCluster(t, chaintest.Options{Nodes: 3, NodeOptions: []chain.NodeOption{chain.WithMaxEntrySize(1024)}})
	cl := c.Client()
	ctx := testCtx(t)
	_, err := cl.Do(ctx, "panic", nil)
	require.ErrorIs(t, err, chain.ErrCommandFailed)
	require.ErrorContains(t, err, "handler bug")
	_, err = cl.Query(ctx, "panic", nil)
	require.ErrorIs(t, err, chain.ErrCommandFailed)
	_, err = cl.Do(ctx, "big", binary.BigEndian.AppendUint32(nil, 1025))
	require.ErrorIs(t, err, chain.ErrTooLarge)
	out, err := cl.Do(ctx, "big", binary.BigEndian.AppendUint32(nil, 1024))
	require.NoError(t, err)
	require.Len(t, out, 1024)
	// The chain keeps serving.
	res, err := cl.Submit(ctx, "incr", nil)
	require.NoError(t, err)
	require.Equal(t, uint64(1), decodeCount(t, res.Data))
	require.Equal(t, uint64(4), res.Offset)
	for i := range 3 {
		require.NoError(t, c.Node(i).WaitApplied(ctx, res.Offset))
		require.NoError(t, c.Node(i).Err())
	}
}

func TestWaitApplied(t *testing.T) {
	c, counters := counterCluster(t, chaintest.Options{Nodes: 3})
	cl := c.Client()
	ctx := testCtx(t)
	res, err := cl.Submit(ctx, "incr", nil)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, c.Node(i).WaitApplied(ctx, res.Offset))
		require.Equal(t, uint64(1), counters(i).value())
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.Node(0).WaitApplied(short, 100), context.DeadlineExceeded)
	unstarted, err := chain.NewNode("n1", chain.WithTransport(c.Network()), chain.WithStorage(memory.New()), chain.WithConfig(c.Config()))
	require.NoError(t, err)
	require.ErrorIs(t, unstarted.WaitApplied(ctx, 1), chain.ErrNotStarted)
}

func TestStatusOfEveryNode(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 3})
	cl := c.Client()
	ctx := testCtx(t)
	_, err := cl.Append(ctx, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, c.WaitConverged(ctx))
	for i, role := range []chain.Role{chain.RoleHead, chain.RoleMiddle, chain.RoleTail} {
		st, err := cl.Status(ctx, c.Addr(i))
		require.NoError(t, err)
		require.Equal(t, c.Config().Members[i].ID, st.ID)
		require.Equal(t, role, st.Role)
		require.Equal(t, uint64(1), st.Epoch)
		require.Equal(t, uint64(1), st.LastOffset)
		require.Equal(t, uint64(1), st.CommitPoint)
		require.Len(t, st.Members, 3)
		require.Empty(t, st.Err)
	}
	_, err = cl.Status(ctx, "")
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

// TestLogFeedsDownstreamConsumers consumes a middle node's log in order
// with Read and WaitCommitted while a client appends.
func TestLogFeedsDownstreamConsumers(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 3})
	log := c.Node(1).Log()
	ctx := testCtx(t)
	const total = 200
	done := make(chan error, 1)
	go func() {
		cl := c.Client()
		for i := range total {
			if _, err := cl.Append(ctx, []byte(fmt.Sprint(i))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	next := uint64(1)
	for next <= total {
		require.NoError(t, log.WaitCommitted(ctx, next))
		ents, err := log.Read(ctx, next, 50)
		require.NoError(t, err)
		require.NotEmpty(t, ents)
		for _, e := range ents {
			require.Equal(t, next, e.Offset)
			require.Equal(t, fmt.Sprint(next-1), string(e.Data))
			require.LessOrEqual(t, e.Offset, log.CommitPoint())
			next++
		}
	}
	require.NoError(t, <-done)
	require.Equal(t, uint64(total), log.CommitPoint())
	require.Equal(t, uint64(1), log.FirstOffset())
}

func TestLogReadRejectsBadRanges(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 1})
	log := c.Node(0).Log()
	ctx := testCtx(t)
	_, err := log.Read(ctx, 0, 1)
	require.ErrorIs(t, err, chain.ErrOutOfRange)
	_, err = log.Read(ctx, 1, 0)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	ents, err := log.Read(ctx, 1, 10)
	require.NoError(t, err)
	require.Empty(t, ents)

	// WaitCommitted returns ErrClosed once the node stops.
	done := make(chan error, 1)
	go func() { done <- log.WaitCommitted(ctx, 5) }()
	time.Sleep(10 * time.Millisecond)
	c.Kill(0)
	select {
	case err := <-done:
		require.ErrorIs(t, err, chain.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("WaitCommitted did not return after Close")
	}
}
