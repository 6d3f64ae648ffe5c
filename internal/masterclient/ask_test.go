package masterclient

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMasterHelpers starts a master and talks to it with FetchConfig and
// Admin.
func TestMasterHelpers(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
	m, err := master.Start(master.Options{Addr: "master", Config: cfg, Transport: net})
	require.NoError(t, err)
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	got, err := FetchConfig(ctx, net, "master")
	require.NoError(t, err)
	require.Equal(t, cfg, got)

	resp, err := Admin(ctx, net, []string{"master"}, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n1"}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp.Config.Epoch)
	require.Equal(t, cfg.Members[1:], resp.Config.Members)

	resp, err = Admin(ctx, net, []string{"master"}, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n2"}})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	require.ErrorContains(t, err, "last member")
	require.Equal(t, uint64(2), resp.Config.Epoch)

	// Nobody at the address: the helpers give up when ctx ends.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	_, err = FetchConfig(short, net, "nobody")
	require.ErrorIs(t, err, ErrNoMaster)
	_, err = Admin(short, net, []string{"nobody"}, &wire.AdminRequest{Op: wire.AdminAddNode, Member: chain.Member{ID: "n3", Addr: "x"}})
	require.ErrorIs(t, err, ErrNoMaster)
	_, err = FetchConfig(ctx, net, "")
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

// TestMasterGroupHelpers starts a group of three masters: FetchConfig
// skips a dead master, Admin sent to a follower follows the redirect, and
// FetchUpdate tells the leader from the followers.
func TestMasterGroupHelpers(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}, {ID: "n2", Addr: "n2"}}}
	addrs := []string{"m1", "m2", "m3"}
	var peers []master.Peer
	rafts := map[string]*raft.InmemTransport{}
	for _, a := range addrs {
		ra, tr := raft.NewInmemTransport(raft.ServerAddress("raft-" + a))
		rafts[a] = tr
		peers = append(peers, master.Peer{Addr: a, RaftAddr: string(ra)})
	}
	for a, ta := range rafts {
		for b, tb := range rafts {
			if a != b {
				ta.Connect(tb.LocalAddr(), tb)
			}
		}
	}
	ms := map[string]*master.Master{}
	for _, a := range addrs {
		m, err := master.Start(master.Options{Addr: a, Config: cfg, Transport: net, Peers: peers, RaftTransport: rafts[a],
			FailureTimeout: 200 * time.Millisecond})
		require.NoError(t, err)
		ms[a] = m
		defer m.Close()
	}
	leader := func() string {
		for a, m := range ms {
			if m.IsLeader() {
				return a
			}
		}
		return ""
	}
	require.Eventually(t, func() bool { return leader() != "" }, 5*time.Second, 10*time.Millisecond)
	l := leader()
	var followers []string
	for _, a := range addrs {
		if a != l {
			followers = append(followers, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	u, err := FetchUpdate(ctx, net, l)
	require.NoError(t, err)
	require.False(t, u.Follower)
	require.Equal(t, l, u.Leader)
	u, err = FetchUpdate(ctx, net, followers[0])
	require.NoError(t, err)
	require.True(t, u.Follower)
	require.Equal(t, l, u.Leader)

	// A follower redirects the removal to the leader.
	resp, err := Admin(ctx, net, []string{followers[0]}, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n1"}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp.Config.Epoch)

	// A dead master first in the list is skipped.
	require.Eventually(t, func() bool { // the follower applies the removal soon after the leader
		got, err := FetchConfig(ctx, net, "nobody", followers[1])
		require.NoError(t, err)
		return got.Epoch == 2
	}, 5*time.Second, 10*time.Millisecond)
	resp, err = Admin(ctx, net, []string{"nobody", followers[1]}, &wire.AdminRequest{Op: wire.AdminAddNode, Member: chain.Member{ID: "n3", Addr: "x"}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp.Config.Epoch)
}
