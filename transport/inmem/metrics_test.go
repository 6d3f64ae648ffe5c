package inmem_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/metrics"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestCollector(t *testing.T) {
	n := newNet(t, inmem.Options{})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(n.Collector()))
	a, b := listen(t, n, "a"), listen(t, n, "b")
	require.NoError(t, a.Send(t.Context(), b.Addr(), &wire.ClientRequest{ID: 1, Op: wire.OpLatest}))
	require.NoError(t, a.Send(t.Context(), "nobody", &wire.ClientRequest{ID: 2, Op: wire.OpLatest}))
	<-b.Receive()

	samples, err := metrics.Gather(reg)
	require.NoError(t, err)
	get := func(name string) float64 {
		v, ok := metrics.Find(samples, name, nil)
		require.True(t, ok, name)
		return v
	}
	require.Equal(t, 2.0, get("chain_inmem_endpoints"))
	require.Equal(t, 2.0, get("chain_inmem_messages_sent_total"))
	require.Equal(t, 1.0, get("chain_inmem_messages_delivered_total"))
	require.Equal(t, 1.0, get("chain_inmem_messages_dropped_total"))
	require.Positive(t, get("chain_inmem_bytes_sent_total"))
}
