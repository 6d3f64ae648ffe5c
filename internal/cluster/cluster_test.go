package cluster

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseAndFormatMembers(t *testing.T) {
	members, err := ParseMembers(" n1=h:1, n2=h:2")
	require.NoError(t, err)
	require.Equal(t, []chain.Member{{ID: "n1", Addr: "h:1"}, {ID: "n2", Addr: "h:2"}}, members)
	require.Equal(t, "n1=h:1,n2=h:2", FormatMembers(members))
	for _, bad := range []string{"", "n1", "n1=", "=h:1", "n1=h:1,n1=h:2", "n1=h:1,n2=h:1"} {
		_, err := ParseMembers(bad)
		require.ErrorIs(t, err, chain.ErrInvalidConfig, "%q", bad)
	}
}

func TestFreePortRange(t *testing.T) {
	base, err := FreePortRange(3)
	require.NoError(t, err)
	for i := range 3 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
}

// TestMasterHelpers starts a master and talks to it with FetchConfig and
// Admin.
func TestMasterHelpers(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: LocalMembers(2, 7001)}
	m, err := StartMaster(MasterConfig{Addr: "master", Config: cfg, Transport: net})
	require.NoError(t, err)
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	got, err := FetchConfig(ctx, net, "master")
	require.NoError(t, err)
	require.Equal(t, cfg, got)

	resp, err := Admin(ctx, net, "master", &chain.AdminRequest{Op: chain.AdminRemoveNode, Member: chain.Member{ID: "n1"}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp.Config.Epoch)
	require.Equal(t, cfg.Members[1:], resp.Config.Members)

	resp, err = Admin(ctx, net, "master", &chain.AdminRequest{Op: chain.AdminRemoveNode, Member: chain.Member{ID: "n2"}})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	require.ErrorContains(t, err, "last member")
	require.Equal(t, uint64(2), resp.Config.Epoch)

	// Nobody at the address: the helpers give up when ctx ends.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	_, err = FetchConfig(short, net, "nobody")
	require.ErrorIs(t, err, ErrNoMaster)
	_, err = Admin(short, net, "nobody", &chain.AdminRequest{Op: chain.AdminAddNode, Member: chain.Member{ID: "n3", Addr: "x"}})
	require.ErrorIs(t, err, ErrNoMaster)
	_, err = FetchConfig(ctx, net, "")
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}
