package mux_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/wire"
)

// feedTransport is a base transport whose one endpoint receives what the
// test feeds it, as an authenticating transport would deliver it.
type feedTransport struct{ ep *feedEndpoint }

func (f *feedTransport) Listen(addr string) (chain.Endpoint, error) {
	f.ep = &feedEndpoint{addr: addr, in: make(chan chain.Inbound, 8)}
	return f.ep, nil
}

type feedEndpoint struct {
	addr string
	in   chan chain.Inbound
	once sync.Once
}

func (e *feedEndpoint) Addr() string                                      { return e.addr }
func (e *feedEndpoint) Send(context.Context, string, chain.Message) error { return nil }
func (e *feedEndpoint) Receive() <-chan chain.Inbound                     { return e.in }
func (e *feedEndpoint) Close() error {
	e.once.Do(func() { close(e.in) })
	return nil
}

// TestPeerIdentityPassesThrough: the sender's verified identity reaches
// the sub-address an envelope names, and sub "" for a plain message.
func TestPeerIdentityPassesThrough(t *testing.T) {
	base := &feedTransport{}
	tr := mux.New(base)
	sub, err := tr.Listen("srv:1/c2")
	require.NoError(t, err)
	defer sub.Close()
	root, err := tr.Listen("srv:1")
	require.NoError(t, err)
	defer root.Close()

	id := &auth.Identity{Role: auth.RoleServer, Name: "s1", Addrs: []string{"peer:1"}}
	base.ep.in <- chain.Inbound{From: "peer:1", Peer: id,
		Msg: &wire.Envelope{From: "c1", To: "c2", Msg: &wire.CommitNotice{Commit: 1}}}
	base.ep.in <- chain.Inbound{From: "peer:1", Peer: id, Msg: &wire.CommitNotice{Commit: 2}}

	for _, tc := range []struct {
		ep   chain.Endpoint
		from string
	}{{sub, "peer:1/c1"}, {root, "peer:1"}} {
		select {
		case in := <-tc.ep.Receive():
			require.Equal(t, tc.from, in.From)
			require.Same(t, id, in.Peer)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s received nothing", tc.ep.Addr())
		}
	}
}
