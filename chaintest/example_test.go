package chaintest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
)

// ExampleRecorder records the appends and reads a client makes on a
// chain and checks that the history is linearizable against the model of
// a log. Tests record concurrent clients under injected faults the same
// way (chaintest.Start runs the chain; CheckLinearizable fails the test
// and writes a visualization).
func ExampleRecorder() {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	disk := chaintest.NewDisk(1, 0)
	st, err := disk.Open()
	if err != nil {
		panic(err)
	}
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	node, err := chain.NewNode("n1", chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(cfg))
	if err != nil {
		panic(err)
	}
	if err := node.Start(context.Background()); err != nil {
		panic(err)
	}
	defer node.Close()
	client, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx := context.Background()
	rec := chaintest.NewRecorder()
	for _, s := range []string{"a", "b"} {
		op := rec.Begin(0, chaintest.LogInput{Op: chaintest.LogAppend, Data: s})
		off, err := client.Append(ctx, []byte(s))
		if err != nil {
			op.Unknown(chaintest.LogOutput{Unknown: true})
			continue
		}
		op.End(chaintest.LogOutput{Offset: off})
	}
	op := rec.Begin(1, chaintest.LogInput{Op: chaintest.LogRead, From: 1, Max: 10})
	ents, err := client.Read(ctx, 1, 10)
	if err != nil {
		panic(err)
	}
	out := chaintest.LogOutput{}
	for _, e := range ents {
		out.Entries = append(out.Entries, string(e.Data))
	}
	op.End(out)

	ok, _, err := chaintest.Linearizable(chaintest.LogModel(), rec.Operations(), 10*time.Second)
	fmt.Println("operations:", rec.Len(), "linearizable:", ok, err)
	// Output:
	// operations: 3 linearizable: true <nil>
}

// ExampleDisk shows what a simulated disk keeps across a crash: every
// change whose call returned.
func ExampleDisk() {
	disk := chaintest.NewDisk(7, 0)
	st, err := disk.Open()
	if err != nil {
		panic(err)
	}
	if err := st.Append([]chain.Entry{{Offset: 1, Epoch: 1, Data: []byte("kept")}}); err != nil {
		panic(err)
	}
	disk.Crash() // the machine loses power: st is dead

	st, err = disk.Open() // the node's next incarnation
	if err != nil {
		panic(err)
	}
	defer st.Close()
	ents, err := st.Entries(1, st.LastOffset()+1, 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Printf("after the crash: %d entry, %q\n", len(ents), ents[0].Data)
	// Output:
	// after the crash: 1 entry, "kept"
}
