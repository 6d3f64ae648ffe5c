package pebble_test

import (
	"fmt"
	"os"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/pebble"
)

// Example keeps a log on disk: what an Append returned is there after the
// storage is closed and opened again. A node takes the storage with
// chain.WithStorage; it does not close it.
func Example() {
	dir, err := os.MkdirTemp("", "pebble-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	st, err := pebble.Open(dir)
	if err != nil {
		panic(err)
	}
	err = st.Append([]chain.Entry{{Offset: 1, Epoch: 1, Data: []byte("one")}, {Offset: 2, Epoch: 1, Data: []byte("two")}})
	if err != nil {
		panic(err)
	}
	if err := st.SetMeta("epoch", []byte{1}); err != nil {
		panic(err)
	}
	if err := st.Close(); err != nil {
		panic(err)
	}

	st, err = pebble.Open(dir)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	ents, err := st.Entries(st.FirstOffset(), st.LastOffset()+1, 1<<20)
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		fmt.Printf("%d: %s\n", e.Offset, e.Data)
	}
	epoch, ok, err := st.Meta("epoch")
	if err != nil {
		panic(err)
	}
	fmt.Println("epoch", epoch, ok, "entries appended since open:", st.Stats().EntriesAppended)
	// Output:
	// 1: one
	// 2: two
	// epoch [1] true entries appended since open: 0
}
