package inmem_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/transport/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
		n := newNet(t, inmem.Options{})
		var next atomic.Uint64
		return n, func() string { return "node-" + strconv.FormatUint(next.Add(1), 10) }
	})
}
