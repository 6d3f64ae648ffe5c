package chain_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

// Example runs a three-node chain in one process: every node registers the
// same command handler, a client runs a command through the chain and the
// tail's result comes back.
func Example() {
	ctx := context.Background()
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{
		{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}, {ID: "n3", Addr: "n3"},
	}}
	for _, m := range cfg.Members {
		node, err := chain.NewNode(m.ID, chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
		if err != nil {
			panic(err)
		}
		_ = node.Handle("upper", func(ctx context.Context, e chain.Entry) ([]byte, error) {
			return bytes.ToUpper(e.Data), nil
		})
		if err := node.Start(ctx); err != nil {
			panic(err)
		}
		defer node.Close()
	}

	client, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	out, err := client.Do(ctx, "upper", []byte("hello, chain"))
	if err != nil {
		panic(err)
	}
	off, err := client.Append(ctx, []byte("a raw entry"))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	fmt.Println("appended at offset", off)
	// Output:
	// HELLO, CHAIN
	// appended at offset 2
}
