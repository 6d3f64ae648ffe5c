package master

import (
	"errors"
	"net"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func TestAdvertisedAddr(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(172, 31, 77, 12), Port: 7100}
	for _, c := range []struct{ addr, want string }{
		{"m2:7100", "m2:7100"},
		{"127.0.0.1:7100", "127.0.0.1:7100"},
		{"[::1]:7100", "[::1]:7100"},
		{"127.0.0.1:0", "172.31.77.12:7100"}, // any port: only the bound one can be given
		{"m2", "172.31.77.12:7100"},          // not host:port: net.Listen refuses it first
	} {
		require.Equal(t, c.want, advertisedAddr(c.addr, bound).String(), c.addr)
	}
}

func TestCheckOwnRaftAddr(t *testing.T) {
	peers := []Peer{{Addr: "m1:7000", RaftAddr: "m1:7100"}, {Addr: "m2:7000", RaftAddr: "m2:7100"}}
	for _, c := range []struct {
		addr       string
		advertised raft.ServerAddress
		ok         bool
	}{
		{"m1:7000", "m1:7100", true},
		{"m2:7000", "m2:7100", true},
		{"m2:7000", "172.31.77.12:7100", false}, // the same host by address: its peers would refuse its RPCs
		{"m2:7000", "m2:7200", false},
		{"m3:7000", "m3:7100", true}, // not among the peers: a joining master, checked when added
	} {
		err := checkOwnRaftAddr(peers, c.addr, c.advertised)
		if c.ok {
			require.NoError(t, err, "%s at %s", c.addr, c.advertised)
		} else {
			require.True(t, errors.Is(err, chain.ErrInvalidConfig), "%s at %s: %v", c.addr, c.advertised, err)
		}
	}
	require.NoError(t, checkOwnRaftAddr(nil, "m1:7000", "127.0.0.1:7100"), "a lone master")
}
