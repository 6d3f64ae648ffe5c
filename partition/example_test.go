package partition_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/server"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// Example runs a partitioned cluster in one process: a master of four
// chains of one replica each, placed on one server that runs the
// key-value store on every replica. The partition client routes each key
// to the chain that serves its slot; kv.NewPartitionedClient puts the
// typed client on top.
func Example() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	m, err := master.Start(master.Options{Transport: net, Addr: "master", Chains: 4, Replicas: 1, FailureTimeout: 200 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s, err := server.Start(server.Options{ID: "s1", Addr: "s1", Transport: net, Masters: []string{"master"},
		Setup: func(r wire.Replica, n *chain.Node) error { return kv.New().Register(n) }})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	pc, err := partition.NewClient(partition.Options{Transport: net, Masters: []string{"master"}})
	if err != nil {
		panic(err)
	}
	defer pc.Close()
	c := kv.NewPartitionedClient(pc)
	ctx := context.Background()
	// The first call waits until the master has created the chains and
	// the server runs their replicas.
	for _, k := range []string{"apple", "banana", "cherry"} {
		if err := c.Put(ctx, k, []byte("ripe "+k)); err != nil {
			panic(err)
		}
	}
	for _, k := range []string{"apple", "banana", "cherry"} {
		ci, err := pc.ChainOf(ctx, []byte(k))
		if err != nil {
			panic(err)
		}
		v, _, err := c.Get(ctx, k)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %q on chain %s (slots [%d, %d))\n", k, v, ci.ID, ci.SlotLo, ci.SlotHi)
	}
	n, err := c.Len(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("keys:", n)
	// Output:
	// apple: "ripe apple" on chain c2 (slots [512, 768))
	// banana: "ripe banana" on chain c1 (slots [256, 512))
	// cherry: "ripe cherry" on chain c1 (slots [256, 512))
	// keys: 3
}
