package mux_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/wire"
)

func TestSplitJoinAddr(t *testing.T) {
	for _, tc := range []struct{ addr, base, sub string }{
		{"127.0.0.1:7101/c3", "127.0.0.1:7101", "c3"},
		{"srv", "srv", ""},
		{"srv/", "srv", ""},
		{"srv/a/b", "srv", "a/b"},
		{"/x", "", "x"},
		{"", "", ""},
	} {
		base, sub := mux.SplitAddr(tc.addr)
		require.Equal(t, tc.base, base, tc.addr)
		require.Equal(t, tc.sub, sub, tc.addr)
	}
	require.Equal(t, "srv", mux.JoinAddr("srv", ""))
	require.Equal(t, wire.ReplicaAddr("srv", "c1"), mux.JoinAddr("srv", "c1"))
}

// TestBaseClientAddrsHaveNoSlash checks the assumption the address scheme
// rests on: the base transports generate client addresses without "/".
func TestBaseClientAddrsHaveNoSlash(t *testing.T) {
	for name, tr := range map[string]chain.Transport{"inmem": newNet(t), "tcp": newTCP(t)} {
		for range 5 {
			ep := listen(t, tr, "")
			require.NotContains(t, ep.Addr(), "/", name)
		}
	}
	ep := listen(t, newTCP(t), "127.0.0.1:0")
	require.NotContains(t, ep.Addr(), "/")
}

// TestManySubsOneBase has clients of several chains talk to the replicas
// of one server: each replica gets only its own messages, each reply comes
// back from the replica's address, and the server holds one base endpoint.
func TestManySubsOneBase(t *testing.T) {
	const chains, clients, perClient = 16, 3, 20
	n := newNet(t)
	srv := mux.New(n)
	subs := make([]chain.Endpoint, chains)
	for i := range subs {
		subs[i] = listen(t, srv, wire.ReplicaAddr("srv", "c"+strconv.Itoa(i)))
		require.Equal(t, "srv/c"+strconv.Itoa(i), subs[i].Addr())
	}
	plain := listen(t, srv, "srv") // sub "" coexists with the others
	_, err := n.Listen("srv")
	require.ErrorIs(t, err, chain.ErrInvalidArgument, "the base endpoint is open once")

	// Each replica echoes what it gets, naming itself.
	var wg sync.WaitGroup
	for _, ep := range append(subs, plain) {
		wg.Go(func() {
			for in := range ep.Receive() {
				m := in.Msg.(*wire.ClientRequest)
				_ = ep.Send(context.Background(), in.From, &wire.ClientResponse{ID: m.ID, Result: []byte(ep.Addr() + "|" + string(m.Data))})
			}
		})
	}
	t.Cleanup(func() {
		for _, ep := range subs {
			_ = ep.Close()
		}
		_ = plain.Close()
		wg.Wait()
	})

	cli := mux.New(n)
	cs := make([]chain.Endpoint, clients)
	for i := range cs {
		cs[i] = listen(t, cli, "")
		require.True(t, strings.HasSuffix(cs[i].Addr(), "/"+strconv.Itoa(i+1)), cs[i].Addr())
	}
	for r := range perClient {
		for ci, c := range cs {
			for i := range chains {
				to := wire.ReplicaAddr("srv", "c"+strconv.Itoa(i))
				send(t, c, to, req(uint64(r), fmt.Sprintf("%d", ci)))
			}
			send(t, c, "srv", req(uint64(r), fmt.Sprintf("%d", ci)))
		}
	}
	for ci, c := range cs {
		next := make(map[string]uint64)
		for range perClient * (chains + 1) {
			in := recv(t, c)
			resp := in.Msg.(*wire.ClientResponse)
			who, data, ok := strings.Cut(string(resp.Result), "|")
			require.True(t, ok)
			require.Equal(t, in.From, who, "reply From is the replica's address")
			require.Equal(t, strconv.Itoa(ci), data, "%s got another client's reply", c.Addr())
			require.Equal(t, next[who], resp.ID, "replies from %s in order", who)
			next[who]++
		}
		require.Len(t, next, chains+1)
	}
	require.Zero(t, srv.Stats().Dropped)
	require.Zero(t, cli.Stats().Dropped)
	require.Equal(t, uint64(clients*perClient*(chains+1)), srv.Stats().Delivered)
}

// TestTwoMuxTransports: endpoints of two mux transports over one network
// reach each other, both ways, with the right From.
func TestTwoMuxTransports(t *testing.T) {
	for name, base := range map[string]func(t *testing.T) (a, b chain.Transport, aAddr, bAddr string){
		"inmem": func(t *testing.T) (chain.Transport, chain.Transport, string, string) {
			n := newNet(t)
			return n, n, "a", "b"
		},
		"tcp": func(t *testing.T) (chain.Transport, chain.Transport, string, string) {
			return newTCP(t), newTCP(t), "127.0.0.1:0", "127.0.0.1:0"
		},
	} {
		t.Run(name, func(t *testing.T) {
			ba, bb, aAddr, bAddr := base(t)
			ta, tb := mux.New(ba), mux.New(bb)
			x := listen(t, ta, aAddr+"/x")
			aBase, _ := mux.SplitAddr(x.Addr())
			x2 := listen(t, ta, aBase+"/x2")
			y := listen(t, tb, bAddr+"/y")
			bBase, _ := mux.SplitAddr(y.Addr())
			y0 := listen(t, tb, bBase) // sub ""
			c := listen(t, tb, "")

			send(t, x, y.Addr(), req(1, "x->y"))
			require.Equal(t, "x->y", string(recvReq(t, y, x.Addr()).Data))
			send(t, y, x.Addr(), req(2, "y->x"))
			require.Equal(t, "y->x", string(recvReq(t, x, y.Addr()).Data))
			send(t, y0, x2.Addr(), req(3, "y0->x2"))
			require.Equal(t, "y0->x2", string(recvReq(t, x2, bBase).Data))
			send(t, x2, y0.Addr(), req(4, "x2->y0"))
			require.Equal(t, "x2->y0", string(recvReq(t, y0, x2.Addr()).Data))

			// A client endpoint of b reaches a's subs, and replies reach it.
			send(t, c, x.Addr(), req(5, "c->x"))
			in := recv(t, x)
			require.Equal(t, c.Addr(), in.From)
			send(t, x, in.From, req(6, "x->c"))
			require.Equal(t, "x->c", string(recvReq(t, c, x.Addr()).Data))

			requireNone(t, y)
			requireNone(t, x2)
		})
	}
}

// TestPlainInterop: an endpoint that does not use mux talks to the mux
// endpoint at sub "" and gets its reply, unwrapped.
func TestPlainInterop(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T) (base chain.Transport, srvAddr string, plainAddrs []string){
		"inmem": func(t *testing.T) (chain.Transport, string, []string) { return newNet(t), "srv", []string{"", "plain"} },
		"tcp": func(t *testing.T) (chain.Transport, string, []string) {
			return newTCP(t), "127.0.0.1:0", []string{"", "127.0.0.1:0"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			base, srvAddr, plainAddrs := setup(t)
			tr := mux.New(base)
			srv := listen(t, tr, srvAddr)
			other := listen(t, tr, srv.Addr()+"/c1")
			for _, addr := range plainAddrs {
				p := listen(t, base, addr)
				send(t, p, srv.Addr(), req(1, "ping"))
				in := recv(t, srv)
				require.Equal(t, p.Addr(), in.From, "From unchanged")
				send(t, srv, in.From, &wire.ClientResponse{ID: 1, Result: []byte("pong")})
				back := recv(t, p)
				require.Equal(t, srv.Addr(), back.From)
				require.Equal(t, &wire.ClientResponse{ID: 1, Result: []byte("pong")}, back.Msg, "unwrapped")

				// The plain endpoint can address a sub with an envelope.
				send(t, p, srv.Addr(), &wire.Envelope{From: "me", To: "c1", Msg: req(2, "sub")})
				in = recv(t, other)
				require.Equal(t, p.Addr()+"/me", in.From)
				// And a sub's reply to it arrives as an envelope.
				send(t, other, in.From, req(3, "reply"))
				back = recv(t, p)
				require.Equal(t, srv.Addr(), back.From)
				require.Equal(t, &wire.Envelope{From: "c1", To: "me", Msg: req(3, "reply")}, back.Msg)
			}
			require.Zero(t, tr.Stats().Dropped)
		})
	}
}

// TestUnknownSubDropped: messages for a sub nobody listens on are dropped
// and counted; others still flow.
func TestUnknownSubDropped(t *testing.T) {
	n := newNet(t)
	tr := mux.New(n)
	a := listen(t, tr, "srv/a")
	c := listen(t, mux.New(n), "")
	send(t, c, "srv/nobody", req(1, ""))
	send(t, c, "srv", req(2, "")) // sub "" is not listened on either
	raw := listen(t, n, "raw")
	send(t, raw, "srv", req(3, "")) // plain, to sub ""
	send(t, c, "srv/a", req(4, "ok"))
	require.Equal(t, uint64(4), recvReq(t, a, c.Addr()).ID)
	eventually(t, func() bool { return tr.Stats().Dropped == 3 }, "drops counted")
	require.Equal(t, uint64(1), tr.Stats().Delivered)
	requireNone(t, a)
}

func TestListenInUse(t *testing.T) {
	n := newNet(t)
	tr := mux.New(n)
	listen(t, tr, "srv/a")
	listen(t, tr, "srv")
	for _, addr := range []string{"srv/a", "srv", "srv/"} {
		_, err := tr.Listen(addr)
		require.ErrorIs(t, err, chain.ErrInvalidArgument, addr)
		require.ErrorContains(t, err, "in use")
		require.ErrorContains(t, err, addr)
	}
	// A second mux transport cannot open the base either: the base
	// transport reports it.
	_, err := mux.New(n).Listen("srv/b")
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	// Other subs of the base are free.
	listen(t, tr, "srv/b")

	// Over tcp, a port in use by another endpoint fails as tcp does.
	ttr := newTCP(t)
	p := listen(t, ttr, "127.0.0.1:0")
	_, err = mux.New(ttr).Listen(p.Addr() + "/x")
	require.Error(t, err)
	require.ErrorContains(t, err, "mux: listen")
}

func TestListenErrors(t *testing.T) {
	tr := mux.New(newNet(t))
	for _, addr := range []string{"/x", "/", "srv/" + strings.Repeat("x", mux.MaxSubLen+1)} {
		_, err := tr.Listen(addr)
		require.ErrorIs(t, err, chain.ErrInvalidArgument, "%.20s", addr)
	}
	_, err := mux.New(nil).Listen("srv/a")
	require.ErrorIs(t, err, chain.ErrInvalidConfig)
	ep := listen(t, tr, "srv/"+strings.Repeat("x", mux.MaxSubLen))
	require.NoError(t, ep.Close())
}

func TestSendErrors(t *testing.T) {
	n := newNet(t)
	tr := mux.New(n)
	a := listen(t, tr, "srv/a")
	ctx := context.Background()
	for _, tc := range []struct {
		to  string
		msg chain.Message
	}{
		{"srv/b", nil},
		{"srv/b", &wire.Envelope{To: "b", Msg: req(1, "")}},
		{"/b", req(1, "")},
		{"", req(1, "")},
		{"srv/" + strings.Repeat("x", mux.MaxSubLen+1), req(1, "")},
	} {
		err := a.Send(ctx, tc.to, tc.msg)
		require.ErrorIs(t, err, chain.ErrInvalidArgument, "%.20s %T", tc.to, tc.msg)
		require.ErrorContains(t, err, "mux: send from \"srv/a\"")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, a.Send(cctx, "srv/b", req(1, "")), context.Canceled)
	require.Zero(t, n.Stats().Sent)

	require.NoError(t, a.Close())
	require.ErrorIs(t, a.Send(ctx, "srv/b", req(1, "")), chain.ErrClosed)
}

// TestLastCloseClosesBase: the base endpoint stays open while any sub is
// open and closes with the last one, freeing its address.
func TestLastCloseClosesBase(t *testing.T) {
	t.Run("inmem", func(t *testing.T) {
		n := newNet(t)
		tr := mux.New(n)
		a, b := listen(t, tr, "srv/a"), listen(t, tr, "srv/b")
		require.NoError(t, a.Close())
		_, err := n.Listen("srv")
		require.ErrorIs(t, err, chain.ErrInvalidArgument, "base still open for b")
		require.NoError(t, b.Close())
		requireClosed(t, a, 0)
		requireClosed(t, b, 0)
		raw := listen(t, n, "srv") // free again
		require.NoError(t, raw.Close())

		// And the mux can open it again, anew.
		a2 := listen(t, tr, "srv/a")
		c := listen(t, mux.New(n), "")
		send(t, c, "srv/a", req(1, ""))
		require.Equal(t, uint64(1), recvReq(t, a2, c.Addr()).ID)
	})
	t.Run("tcp", func(t *testing.T) {
		base := newTCP(t)
		tr := mux.New(base)
		a := listen(t, tr, "127.0.0.1:0/a")
		addr, _ := mux.SplitAddr(a.Addr())
		b := listen(t, tr, addr+"/b")
		require.NoError(t, a.Close())
		_, err := base.Listen(addr)
		require.Error(t, err, "base still open for b")
		require.NoError(t, b.Close())
		raw := listen(t, base, addr) // the port is free again
		require.NoError(t, raw.Close())
	})
	t.Run("clients", func(t *testing.T) {
		n := newNet(t)
		tr := mux.New(n)
		c1, c2 := listen(t, tr, ""), listen(t, tr, "")
		require.Equal(t, "client-1/1", c1.Addr())
		require.Equal(t, "client-1/2", c2.Addr())
		require.NoError(t, c1.Close())
		require.NoError(t, c2.Close())
		// A new base client endpoint, and sub-addresses never reused.
		c3 := listen(t, tr, "")
		require.Equal(t, "client-2/3", c3.Addr())
		_, err := n.Listen("client-1")
		require.NoError(t, err, "the first base client endpoint was closed")
	})
}

// TestPartitionCutsAllSubs: an inmem partition of a base address cuts off
// every sub behind it, and healing restores them.
func TestPartitionCutsAllSubs(t *testing.T) {
	n := newNet(t)
	srv := mux.New(n)
	subs := []chain.Endpoint{listen(t, srv, "srv/a"), listen(t, srv, "srv/b"), listen(t, srv, "srv")}
	cli := mux.New(n)
	x := listen(t, cli, "cl/x")
	n.Partition([]string{"srv"}, []string{"cl"})
	for i, s := range subs {
		send(t, x, s.Addr(), req(uint64(i), ""))
		send(t, s, x.Addr(), req(uint64(i), ""))
	}
	for _, s := range subs {
		requireNone(t, s)
	}
	requireNone(t, x)
	n.Heal()
	for i, s := range subs {
		send(t, x, s.Addr(), req(uint64(i), ""))
		require.Equal(t, uint64(i), recvReq(t, s, x.Addr()).ID)
		send(t, s, x.Addr(), req(uint64(i), ""))
		require.Equal(t, uint64(i), recvReq(t, x, s.Addr()).ID)
	}
}

// TestBackpressure: a full Receive channel makes the dispatcher wait, not
// drop; closing the endpoint it waits for releases it.
func TestBackpressure(t *testing.T) {
	const inbox, count = 2, 50
	n := newNet(t)
	tr := mux.NewWithOptions(n, mux.Options{InboxSize: inbox})
	slow, other := listen(t, tr, "srv/slow"), listen(t, tr, "srv/other")
	c := listen(t, mux.New(n), "")
	for i := range uint64(count) {
		send(t, c, slow.Addr(), req(i, ""))
	}
	eventually(t, func() bool { return len(slow.Receive()) == inbox }, "slow's inbox fills")
	for i := range uint64(count) {
		require.Equal(t, i, recvReq(t, slow, c.Addr()).ID, "nothing dropped, in order")
	}
	require.Zero(t, tr.Stats().Dropped)

	// Fill slow again, queue a message for other behind the blocked
	// dispatcher, then close slow: other gets its message.
	for i := range uint64(inbox + 3) {
		send(t, c, slow.Addr(), req(i, ""))
	}
	send(t, c, other.Addr(), req(99, ""))
	eventually(t, func() bool { return len(slow.Receive()) == inbox }, "slow's inbox fills")
	require.NoError(t, slow.Close())
	require.Equal(t, uint64(99), recvReq(t, other, c.Addr()).ID)
	requireClosed(t, slow, inbox)
	// The messages that waited for slow's room were dropped at its Close.
	eventually(t, func() bool { return tr.Stats().Dropped == 3 }, "drops counted")
}

// TestBaseClosedUnderneath: closing the base transport closes the Receive
// channels of the mux endpoints on it; Listen and Send then fail.
func TestBaseClosedUnderneath(t *testing.T) {
	n := inmem.New(inmem.Options{})
	tr := mux.New(n)
	a, b, c := listen(t, tr, "srv/a"), listen(t, tr, "srv/b"), listen(t, tr, "")
	require.NoError(t, n.Close())
	for _, ep := range []chain.Endpoint{a, b, c} {
		requireClosed(t, ep, 0)
		require.ErrorIs(t, ep.Send(context.Background(), "srv/a", req(1, "")), chain.ErrClosed)
	}
	_, err := tr.Listen("srv/d")
	require.ErrorIs(t, err, chain.ErrClosed)
	_, err = tr.Listen("")
	require.ErrorIs(t, err, chain.ErrClosed)
	_, err = tr.Listen("other/a")
	require.ErrorIs(t, err, chain.ErrClosed)
	for _, ep := range []chain.Endpoint{a, b, c} {
		require.NoError(t, ep.Close())
	}
	_, err = tr.Listen("srv/d")
	require.ErrorIs(t, err, chain.ErrClosed, "the network, not the mux, refuses now")
}

// TestConcurrentListenClose opens and closes subs of one base from many
// goroutines while they exchange messages, so that the base endpoint
// closes and reopens under contention.
func TestConcurrentListenClose(t *testing.T) {
	const goroutines, rounds = 8, 40
	for name, setup := range map[string]func(t *testing.T) (chain.Transport, string){
		"inmem": func(t *testing.T) (chain.Transport, string) { return newNet(t), "srv" },
		"tcp": func(t *testing.T) (chain.Transport, string) {
			// Find a free port, then use it as the base address.
			base := newTCP(t)
			ep := listen(t, base, "127.0.0.1:0")
			addr := ep.Addr()
			require.NoError(t, ep.Close())
			return base, addr
		},
	} {
		t.Run(name, func(t *testing.T) {
			base, baseAddr := setup(t)
			tr := mux.New(base)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			errs := make(chan error, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					errs <- func() error {
						for r := range rounds {
							addr := fmt.Sprintf("%s/g%d", baseAddr, g)
							ep, err := tr.Listen(addr)
							if err != nil {
								return err
							}
							c, err := tr.Listen("")
							if err != nil {
								_ = ep.Close()
								return err
							}
							err = c.Send(ctx, ep.Addr(), req(uint64(r), ""))
							if err == nil {
								select {
								case in := <-ep.Receive():
									if in.From != c.Addr() {
										err = fmt.Errorf("%s: From %q, want %q", addr, in.From, c.Addr())
									}
								case <-ctx.Done():
									err = fmt.Errorf("%s: round %d: %w", addr, r, ctx.Err())
								}
							}
							_ = c.Close()
							_ = ep.Close()
							if err != nil {
								return err
							}
						}
						return nil
					}()
				})
			}
			wg.Wait()
			for range goroutines {
				require.NoError(t, <-errs)
			}
		})
	}
}

// fakeTransport is a base transport whose endpoints' incoming messages the
// test injects, and whose addresses it chooses.
type fakeTransport struct {
	mu  sync.Mutex
	eps map[string]*fakeEndpoint
	// addr maps a requested address to the one the endpoint gets.
	addr func(string) string
}

type fakeEndpoint struct {
	addr      string
	in        chan chain.Inbound
	closeOnce sync.Once
}

func (f *fakeTransport) Listen(addr string) (chain.Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := &fakeEndpoint{addr: f.addr(addr), in: make(chan chain.Inbound, 16)}
	f.eps[addr] = ep
	return ep, nil
}

func (e *fakeEndpoint) Addr() string                                      { return e.addr }
func (e *fakeEndpoint) Receive() <-chan chain.Inbound                     { return e.in }
func (e *fakeEndpoint) Send(context.Context, string, chain.Message) error { return nil }
func (e *fakeEndpoint) Close() error {
	e.closeOnce.Do(func() { close(e.in) })
	return nil
}

// TestMalformedDropped: envelopes without a message or holding another
// envelope, which the codec refuses to carry, are dropped if a base
// transport delivers them anyway.
func TestMalformedDropped(t *testing.T) {
	f := &fakeTransport{eps: make(map[string]*fakeEndpoint), addr: func(a string) string { return a }}
	tr := mux.New(f)
	a := listen(t, tr, "srv/a")
	base := f.eps["srv"]
	base.in <- chain.Inbound{From: "x", Msg: &wire.Envelope{To: "a"}}
	base.in <- chain.Inbound{From: "x", Msg: &wire.Envelope{To: "a", Msg: &wire.Envelope{To: "a", Msg: req(1, "")}}}
	base.in <- chain.Inbound{From: "x"}
	base.in <- chain.Inbound{From: "x", Msg: &wire.Envelope{From: "y", To: "a", Msg: req(2, "")}}
	require.Equal(t, uint64(2), recvReq(t, a, "x/y").ID)
	require.Equal(t, uint64(3), tr.Stats().Dropped)
}

// TestBaseAddrWithSlash: a base transport that names an endpoint with a
// "/" is refused, since mux addresses built on it would split wrongly.
func TestBaseAddrWithSlash(t *testing.T) {
	f := &fakeTransport{eps: make(map[string]*fakeEndpoint), addr: func(a string) string {
		if a == "" {
			return "client/1"
		}
		return a + "/x"
	}}
	tr := mux.New(f)
	for _, addr := range []string{"", "srv/a"} {
		_, err := tr.Listen(addr)
		require.ErrorIs(t, err, chain.ErrInvalidConfig, addr)
	}
	for _, ep := range f.eps {
		_, ok := <-ep.Receive()
		require.False(t, ok, "base endpoint closed again")
	}
}

// TestChainsOverMux runs two chains on three servers, each server hosting
// one replica of each chain behind one base address, with chain.Node and
// chain.Client unchanged.
func TestChainsOverMux(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := newNet(t)
	servers := []*mux.Transport{mux.New(n), mux.New(n), mux.New(n)}
	for _, id := range []string{"c1", "c2"} {
		cfg := chain.Config{Epoch: 1}
		for i := range servers {
			srv := fmt.Sprintf("s%d", i+1)
			cfg.Members = append(cfg.Members, chain.Member{ID: srv + "-" + id, Addr: wire.ReplicaAddr(srv, id)})
		}
		for i, m := range cfg.Members {
			node, err := chain.NewNode(m.ID, chain.WithTransport(servers[i]), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
			require.NoError(t, err)
			require.NoError(t, node.Handle("tag", func(_ context.Context, e chain.Entry) ([]byte, error) {
				return append([]byte(id+":"), e.Data...), nil
			}))
			require.NoError(t, node.Start(ctx))
			t.Cleanup(func() { _ = node.Close() })
		}
		client, err := chain.NewClient(chain.WithTransport(mux.New(n)), chain.WithConfig(cfg))
		require.NoError(t, err)
		t.Cleanup(func() { _ = client.Close() })
		for i := range 5 {
			out, err := client.Do(ctx, "tag", []byte(strconv.Itoa(i)))
			require.NoError(t, err)
			require.Equal(t, id+":"+strconv.Itoa(i), string(out))
		}
	}
	for _, s := range servers {
		require.Zero(t, s.Stats().Dropped)
	}
}
