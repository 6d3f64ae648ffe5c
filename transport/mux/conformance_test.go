package mux_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/transport/transporttest"
)

// The suite runs over mux on both base transports, with three address
// schemes: plain base addresses (sub "", unwrapped between listening
// endpoints), one base per endpoint with a sub, and every listening
// endpoint a sub of one shared base. Client endpoints are always subs of
// the one shared base client endpoint.

func TestConformanceInmem(t *testing.T) {
	schemes := map[string]func(next uint64) string{
		"Plain":      func(n uint64) string { return "node-" + strconv.FormatUint(n, 10) },
		"SubPerBase": func(n uint64) string { return "node-" + strconv.FormatUint(n, 10) + "/c" + strconv.FormatUint(n, 10) },
		"SharedBase": func(n uint64) string { return "srv/c" + strconv.FormatUint(n, 10) },
	}
	for name, addr := range schemes {
		t.Run(name, func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
				n := inmem.New(inmem.Options{})
				t.Cleanup(func() { _ = n.Close() })
				var next atomic.Uint64
				return mux.New(n), func() string { return addr(next.Add(1)) }
			})
		})
	}
}

func TestConformanceTCP(t *testing.T) {
	t.Run("Plain", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
			return mux.New(newTCP(t)), func() string { return "127.0.0.1:0" }
		})
	})
	t.Run("SubPerBase", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
			return mux.New(newTCP(t)), func() string { return "127.0.0.1:0/c" }
		})
	})
	t.Run("SharedBase", func(t *testing.T) {
		transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
			tr := mux.New(newTCP(t))
			// An anchor endpoint picks the port and holds the base open
			// for the whole subtest; it closes after the suite's
			// endpoints (cleanups run last-registered first).
			anchor, err := tr.Listen("127.0.0.1:0/anchor")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = anchor.Close() })
			base, _ := mux.SplitAddr(anchor.Addr())
			var next atomic.Uint64
			return tr, func() string { return base + "/c" + strconv.FormatUint(next.Add(1), 10) }
		})
	})
}
