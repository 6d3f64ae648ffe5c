package inmem_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/transport/inmem"
)

func TestPartitionBothWays(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	n.Partition([]string{"a"}, []string{"b", "c"})

	send(t, a, "b", 1)
	send(t, a, "c", 2)
	send(t, b, "a", 3)
	send(t, c, "a", 4)
	requireNone(t, a)
	requireNone(t, b)
	requireNone(t, c)
	require.Equal(t, uint64(4), n.Stats().Dropped)

	// Links within a side are unaffected.
	send(t, b, "c", 5)
	require.Equal(t, []uint64{5}, recvIDs(t, c, 1))

	n.Heal()
	send(t, a, "b", 6)
	send(t, c, "a", 7)
	require.Equal(t, []uint64{6}, recvIDs(t, b, 1))
	require.Equal(t, []uint64{7}, recvIDs(t, a, 1))
}

func TestPartitionOneWay(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	n.PartitionOneWay([]string{"a"}, []string{"b"})

	send(t, a, "b", 1)
	requireNone(t, b)
	send(t, b, "a", 2)
	require.Equal(t, []uint64{2}, recvIDs(t, a, 1))

	n.Heal()
	send(t, a, "b", 3)
	require.Equal(t, []uint64{3}, recvIDs(t, b, 1))
}

func TestIsolate(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	n.Isolate("a")

	send(t, a, "b", 1)
	send(t, b, "a", 2)
	send(t, c, "a", 3)
	requireNone(t, a)
	requireNone(t, b)
	send(t, b, "c", 4)
	require.Equal(t, []uint64{4}, recvIDs(t, c, 1))

	n.Heal()
	send(t, a, "b", 5)
	send(t, b, "a", 6)
	require.Equal(t, []uint64{5}, recvIDs(t, b, 1))
	require.Equal(t, []uint64{6}, recvIDs(t, a, 1))
}

func TestPartitionBeforeListen(t *testing.T) {
	n := newNet(t, inmem.Options{})
	n.Partition([]string{"a"}, []string{"b"})
	a, b := listen(t, n, "a"), listen(t, n, "b")
	send(t, a, "b", 1)
	requireNone(t, b)
}

func TestReconnectEndsOneIsolation(t *testing.T) {
	n := newNet(t, inmem.Options{})
	a, b, c := listen(t, n, "a"), listen(t, n, "b"), listen(t, n, "c")
	n.Isolate("a")
	n.Isolate("c")
	n.Reconnect("a")
	send(t, a, "b", 1)
	require.Equal(t, []uint64{1}, recvIDs(t, b, 1))
	send(t, c, "b", 2)
	requireNone(t, b)
}
