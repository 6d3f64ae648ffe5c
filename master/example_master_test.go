package master_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

// ExampleStart runs a configuration master and three nodes that follow
// it; the client learns the chain from the master. Removing a node gives
// the chain a new configuration at the next epoch, which the nodes and the
// client adopt on their own.
func ExampleStart() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{
		{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}, {ID: "n3", Addr: "n3"},
	}}
	m, err := master.Start(master.Options{Transport: net, Addr: "master", Config: cfg, FailureTimeout: 200 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	for _, mem := range cfg.Members {
		n, err := chain.NewNode(mem.ID, chain.WithTransport(net), chain.WithStorage(memory.New()),
			chain.WithConfig(cfg), chain.WithMaster("master"))
		if err != nil {
			panic(err)
		}
		if err := n.Start(context.Background()); err != nil {
			panic(err)
		}
		defer n.Close()
	}
	client, err := chain.NewClient(chain.WithTransport(net), chain.WithMaster("master"))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx := context.Background()
	// Nodes serve once the master has answered their first heartbeat; the
	// client retries until then.
	off, err := client.Append(ctx, []byte("first"))
	if err != nil {
		panic(err)
	}
	fmt.Println("appended at", off)

	next, err := m.RemoveNode("n3")
	if err != nil {
		panic(err)
	}
	fmt.Println("epoch", next.Epoch, "members", len(next.Members), "tail", next.Tail().ID)
	off, err = client.Append(ctx, []byte("second"))
	if err != nil {
		panic(err)
	}
	fmt.Println("appended at", off)
	// Output:
	// appended at 1
	// epoch 2 members 2 tail n2
	// appended at 2
}
