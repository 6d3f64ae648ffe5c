package tcp_test

import (
	"testing"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/transport/transporttest"
)

// newTCP returns a transport closed at the end of the test.
func newTCP(t testing.TB, opts tcp.Options) *tcp.Transport {
	t.Helper()
	tr := tcp.New(opts)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func loopbackAddr() string { return "127.0.0.1:0" }

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
		return newTCP(t, tcp.Options{}), loopbackAddr
	})
}

func TestConformanceMutualTLS(t *testing.T) {
	pki := newPKI(t)
	cfg := pki.mtls(pki.leaf(t, loopback))
	transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
		return newTCP(t, tcp.Options{TLS: cfg}), loopbackAddr
	})
}
