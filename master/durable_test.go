package master

import (
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
)

func TestPebbleStore(t *testing.T) {
	dir := t.TempDir()
	s, err := openPebbleStore(dir)
	require.NoError(t, err)
	first, err := s.FirstIndex()
	require.NoError(t, err)
	require.Zero(t, first)
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	require.NoError(t, s.StoreLogs(logs))
	require.NoError(t, s.StoreLog(&raft.Log{Index: 11, Term: 2, Data: []byte("x")}))
	require.NoError(t, s.DeleteRange(1, 3))
	_, err = s.Get([]byte("term"))
	require.EqualError(t, err, "not found") // raft matches the text
	n, err := s.GetUint64([]byte("term"))
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, s.SetUint64([]byte("term"), 7))
	require.NoError(t, s.Set([]byte("vote"), []byte("m2")))
	require.NoError(t, s.Close())

	s, err = openPebbleStore(dir)
	require.NoError(t, err)
	defer s.Close()
	first, err = s.FirstIndex()
	require.NoError(t, err)
	last, err := s.LastIndex()
	require.NoError(t, err)
	require.Equal(t, []uint64{4, 11}, []uint64{first, last})
	var l raft.Log
	require.ErrorIs(t, s.GetLog(3, &l), raft.ErrLogNotFound)
	require.NoError(t, s.GetLog(11, &l))
	require.Equal(t, uint64(2), l.Term)
	require.Equal(t, []byte("x"), l.Data)
	n, err = s.GetUint64([]byte("term"))
	require.NoError(t, err)
	require.Equal(t, uint64(7), n)
	v, err := s.Get([]byte("vote"))
	require.NoError(t, err)
	require.Equal(t, []byte("m2"), v)
}

// TestLoneMasterOnDiskKeepsItsState restarts a lone master with Dir, and
// one given the same RaftStorage: it comes back with the configuration it
// had, not the one it is given.
func TestLoneMasterOnDiskKeepsItsState(t *testing.T) {
	for name, keep := range map[string]func(o *Options){
		"Dir":         func(o *Options) { o.Dir = t.TempDir() },
		"RaftStorage": func(o *Options) { o.RaftStorage = NewInmemRaftStorage() },
	} {
		t.Run(name, func(t *testing.T) {
			net := inmem.New(inmem.Options{})
			defer net.Close()
			cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
			opts := Options{Transport: net, Addr: "m", Config: cfg, FailureTimeout: 200 * time.Millisecond}
			keep(&opts)
			m, err := Start(opts)
			require.NoError(t, err)
			require.True(t, m.IsLeader())
			after, err := m.RemoveNode("n2")
			require.NoError(t, err)
			require.Equal(t, uint64(2), after.Epoch)
			_, err = m.AddNode(chain.Member{ID: "n3", Addr: "n3"})
			require.NoError(t, err)
			require.NoError(t, m.Close())

			m, err = Start(opts)
			require.NoError(t, err)
			defer func() { require.NoError(t, m.Close()) }()
			require.Equal(t, after, m.Config())
			d, _ := m.fsm.current()
			c, ok := d.chain("")
			require.True(t, ok)
			require.Equal(t, []chain.Member{{ID: "n3", Addr: "n3"}}, c.Standby)
			require.Equal(t, 2, c.Target)
		})
	}
}

func freeAddrs(t *testing.T, n int) []string {
	var addrs []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		require.NoError(t, l.Close())
	}
	return addrs
}

// TestGroupOverTCP runs three masters on raft's TCP transport: a change
// on the leader reaches the followers, and survives the leader.
func TestGroupOverTCP(t *testing.T) {
	masters, _ := startRaftGroup(t, func(o *Options, _ Peer) { o.Dir = t.TempDir() })
	l := awaitGroupLeader(t, masters)
	want, err := l.RemoveNode("n2") // nodes do not run: nothing else changes
	require.NoError(t, err)
	awaitEpochEverywhere(t, masters, want.Epoch)
	require.NoError(t, l.Close())
	delete(masters, l.Addr())
	nl := awaitGroupLeader(t, masters)
	require.Equal(t, want, nl.Config())
	require.True(t, slices.Contains(masterAddrs(3), nl.Leader()))
}
