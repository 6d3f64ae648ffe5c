package tcp_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// TestCollector sends a request and its reply between a listening and a
// client endpoint and checks the counts the collector reports.
func TestCollector(t *testing.T) {
	tr := tcp.New(tcp.Options{})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(tr.Collector()))
	srv := listen(t, tr, "127.0.0.1:0")
	cl := listen(t, tr, "")
	send(t, cl, srv.Addr(), &wire.ClientRequest{ID: 1, Op: wire.OpLatest})
	in := recv(t, srv)
	send(t, srv, in.From, &wire.ClientResponse{ID: 1, Offset: 7})
	recv(t, cl)

	s := testutil.GatherMetrics(t, reg)
	get := func(name string) float64 { return s.Get(name, nil) }
	require.Equal(t, 2.0, get("chain_tcp_connections"), "the dialed end and the accepted end")
	require.Equal(t, 2.0, get("chain_tcp_messages_sent_total"))
	require.Equal(t, 2.0, get("chain_tcp_messages_received_total"))
	require.Equal(t, 1.0, get("chain_tcp_dials_total"))
	require.Zero(t, get("chain_tcp_dial_failures_total"))
	require.Zero(t, get("chain_tcp_messages_dropped_total"))
	require.Positive(t, get("chain_tcp_bytes_sent_total"))
	require.Positive(t, get("chain_tcp_bytes_received_total"))

	require.NoError(t, tr.Close())
	s = testutil.GatherMetrics(t, reg)
	require.Zero(t, get("chain_tcp_connections"), "closed with the transport")
}
