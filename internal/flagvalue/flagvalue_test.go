package flagvalue

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
)

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

func TestParsePeers(t *testing.T) {
	peers, err := ParsePeers(" a:1=a:2, b:1=b:2")
	require.NoError(t, err)
	require.Equal(t, []master.Peer{{Addr: "a:1", RaftAddr: "a:2"}, {Addr: "b:1", RaftAddr: "b:2"}}, peers)
	for _, bad := range []string{"", "a", "a=", "=b", "a=1,a=2", "a=1,b=1"} {
		_, err := ParsePeers(bad)
		require.ErrorIs(t, err, chain.ErrInvalidConfig, "%q", bad)
	}
	require.Equal(t, []string{"a", "b"}, SplitAddrs(" a,,b "))
}
