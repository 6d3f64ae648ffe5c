package kv_test

import (
	"context"
	"fmt"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

// Example runs the key-value store on a two-node chain: every node
// registers its own Store, writes go through the chain, reads come from
// the tail, and every Store ends up with the same data.
func Example() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
	var nodes []*chain.Node
	var stores []*kv.Store
	for _, m := range cfg.Members {
		n, err := chain.NewNode(m.ID, chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
		if err != nil {
			panic(err)
		}
		s := kv.New()
		if err := s.Register(n); err != nil {
			panic(err)
		}
		if err := n.Start(context.Background()); err != nil {
			panic(err)
		}
		defer n.Close()
		nodes, stores = append(nodes, n), append(stores, s)
	}
	cc, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	c := kv.NewClient(cc)

	ctx := context.Background()
	if err := c.Put(ctx, "colour", []byte("blue")); err != nil {
		panic(err)
	}
	swapped, err := c.CompareAndSet(ctx, "colour", []byte("blue"), true, []byte("green"))
	if err != nil {
		panic(err)
	}
	v, found, err := c.Get(ctx, "colour")
	if err != nil {
		panic(err)
	}
	fmt.Printf("swapped %v, colour %s (found %v)\n", swapped, v, found)
	existed, err := c.Delete(ctx, "shape")
	if err != nil {
		panic(err)
	}
	fmt.Println("shape existed:", existed)

	latest, err := cc.Latest(ctx)
	if err != nil {
		panic(err)
	}
	for i, n := range nodes {
		if err := n.WaitApplied(ctx, latest); err != nil {
			panic(err)
		}
		v, _ := stores[i].Get("colour")
		fmt.Printf("%s holds colour=%s\n", n.ID(), v)
	}
	// Output:
	// swapped true, colour green (found true)
	// shape existed: false
	// n1 holds colour=green
	// n2 holds colour=green
}
