package chain_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

// startExampleChain starts a chain of the given nodes on net, each with
// the handlers setup registers, and returns its configuration and a
// function that closes the nodes.
func startExampleChain(net *inmem.Network, setup func(*chain.Node) error, ids ...string) (chain.Config, []*chain.Node, func()) {
	cfg := chain.Config{Epoch: 1}
	for _, id := range ids {
		cfg.Members = append(cfg.Members, chain.Member{ID: id, Addr: id})
	}
	var nodes []*chain.Node
	closeAll := func() {
		for _, n := range nodes {
			_ = n.Close()
		}
	}
	for _, id := range ids {
		n, err := chain.NewNode(id, chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
		if err == nil && setup != nil {
			err = setup(n)
		}
		if err == nil {
			err = n.Start(context.Background())
		}
		if err != nil {
			closeAll()
			panic(err)
		}
		nodes = append(nodes, n)
	}
	return cfg, nodes, closeAll
}

// exampleClient returns a client of the chain cfg on net.
func exampleClient(net *inmem.Network, cfg chain.Config) *chain.Client {
	client, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
	if err != nil {
		panic(err)
	}
	return client
}

// ExampleNode registers a command and a query on a chain of one node: the
// command keeps a counter, the query reads it. Commands run in log order
// on every node; queries run on the tail.
func ExampleNode() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	var count uint64 // the application's state, changed only by commands
	setup := func(n *chain.Node) error {
		if err := n.Handle("incr", func(ctx context.Context, e chain.Entry) ([]byte, error) {
			count++
			return binary.BigEndian.AppendUint64(nil, count), nil
		}); err != nil {
			return err
		}
		return n.HandleQuery("count", func(ctx context.Context, q []byte) ([]byte, error) {
			return binary.BigEndian.AppendUint64(nil, count), nil
		})
	}
	cfg, nodes, closeNodes := startExampleChain(net, setup, "n1")
	defer closeNodes()

	client := exampleClient(net, cfg)
	defer client.Close()
	ctx := context.Background()
	for range 3 {
		if _, err := client.Do(ctx, "incr", nil); err != nil {
			panic(err)
		}
	}
	out, err := client.Query(ctx, "count", nil)
	if err != nil {
		panic(err)
	}
	st := nodes[0].Stats()
	fmt.Println("count:", binary.BigEndian.Uint64(out))
	fmt.Println("role:", st.Role, "commit point:", st.CommitPoint)
	// Output:
	// count: 3
	// role: head+tail commit point: 3
}

// ExampleClient appends raw entries to a three-node chain and reads them
// back from the tail.
func ExampleClient() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg, _, closeNodes := startExampleChain(net, nil, "n1", "n2", "n3")
	defer closeNodes()

	client := exampleClient(net, cfg)
	defer client.Close()
	ctx := context.Background()
	for _, s := range []string{"alpha", "beta", "gamma"} {
		off, err := client.Append(ctx, []byte(s))
		if err != nil {
			panic(err)
		}
		fmt.Println("appended", s, "at", off)
	}
	ents, err := client.Read(ctx, 2, 10)
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		fmt.Printf("read %d: %s\n", e.Offset, e.Data)
	}
	latest, err := client.Latest(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("commit point:", latest)
	// Output:
	// appended alpha at 1
	// appended beta at 2
	// appended gamma at 3
	// read 2: beta
	// read 3: gamma
	// commit point: 3
}

// ExampleLog reads a node's own log: it waits until an offset is
// committed on this node, then reads the committed entries.
func ExampleLog() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg, nodes, closeNodes := startExampleChain(net, nil, "n1", "n2")
	defer closeNodes()
	client := exampleClient(net, cfg)
	defer client.Close()
	ctx := context.Background()
	for _, s := range []string{"one", "two"} {
		if _, err := client.Append(ctx, []byte(s)); err != nil {
			panic(err)
		}
	}

	log := nodes[0].Log() // the head learns the commit point from its successor
	if err := log.WaitCommitted(ctx, 2); err != nil {
		panic(err)
	}
	ents, err := log.Read(ctx, log.FirstOffset(), 100)
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		fmt.Printf("%d: %s\n", e.Offset, e.Data)
	}
	fmt.Println("last offset:", log.LastOffset())
	// Output:
	// 1: one
	// 2: two
	// last offset: 2
}

// ExampleNode_Collector registers a node's metrics on the application's
// own Prometheus registry (the library registers nothing globally) and
// reads a few of them back, as a scrape of /metrics would.
func ExampleNode_Collector() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg, nodes, closeNodes := startExampleChain(net, nil, "n1")
	defer closeNodes()

	reg := prometheus.NewRegistry()
	reg.MustRegister(nodes[0].Collector())

	client := exampleClient(net, cfg)
	defer client.Close()
	for range 2 {
		if _, err := client.Append(context.Background(), []byte("x")); err != nil {
			panic(err)
		}
	}

	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var lines []string
	for _, mf := range mfs {
		switch mf.GetName() {
		case "chain_node_commit_point", "chain_node_epoch", "chain_node_entries_ordered_total":
			m := mf.GetMetric()[0]
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			lines = append(lines, fmt.Sprintf("%s %g", mf.GetName(), v))
		case "chain_node_storage_append_seconds":
			lines = append(lines, fmt.Sprintf("%s_count %d", mf.GetName(), mf.GetMetric()[0].GetHistogram().GetSampleCount()))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// chain_node_commit_point 2
	// chain_node_entries_ordered_total 2
	// chain_node_epoch 1
	// chain_node_storage_append_seconds_count 2
}
