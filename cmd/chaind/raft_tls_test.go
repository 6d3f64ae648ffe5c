package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/wire"
)

// TestMasterGroupRaftOverMutualTLS: three chaind masters with -tls-*
// replicate over mutual TLS (an admin's change commits, which takes a
// raft quorum), and a bare raft.NewTCPTransport's AppendEntries and
// InstallSnapshot to their raft ports, which succeeded when raft was plain
// TCP under -tls-*, are refused; the configuration stays as the admin
// left it.
func TestMasterGroupRaftOverMutualTLS(t *testing.T) {
	ca, dir := newCAFiles(t)
	ports, err := launch.FreeLocalMembers(9)
	require.NoError(t, err)
	var peers, masters, rafts []string
	for i := range 3 {
		masters = append(masters, ports[i].Addr)
		rafts = append(rafts, ports[3+i].Addr)
		peers = append(peers, ports[i].Addr+"="+ports[3+i].Addr)
	}
	list := flagvalue.FormatMembers(ports[6:9])
	for i, addr := range masters {
		startProcess(t, append([]string{"-master", "-listen", addr, "-peers", strings.Join(peers, ","), "-members", list,
			"-failure-timeout", "500ms", "-log-level", "error"},
			certFiles(t, ca, dir, auth.RoleMaster, "m"+string(rune('1'+i)), addr)...)...)
	}

	ops := clientTransport(t, certFiles(t, ca, dir, auth.RoleAdmin, "ops"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := masterclient.Admin(ctx, ops, masters, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: ports[8].ID}})
	require.NoError(t, err)
	want := resp.Config
	require.Equal(t, []string{ports[6].ID, ports[7].ID}, memberIDs(want))

	bare, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, time.Second, io.Discard)
	require.NoError(t, err)
	defer bare.Close()
	from := bare.LocalAddr()
	header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("evil"), Addr: []byte(from)}
	forged := raft.EncodeConfiguration(raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "evil", Address: from}}})
	for _, target := range rafts {
		var aresp raft.AppendEntriesResponse
		err := bare.AppendEntries("evil", raft.ServerAddress(target), &raft.AppendEntriesRequest{RPCHeader: header, Term: 600}, &aresp)
		require.Error(t, err, "AppendEntries to %s accepted (success %v)", target, aresp.Success)
		var sresp raft.InstallSnapshotResponse
		err = bare.InstallSnapshot("evil", raft.ServerAddress(target), &raft.InstallSnapshotRequest{
			RPCHeader: header, SnapshotVersion: raft.SnapshotVersionMax, Term: 500, Leader: []byte(from),
			LastLogIndex: 500, LastLogTerm: 500, Configuration: forged, ConfigurationIndex: 500, Size: 2,
		}, &sresp, bytes.NewReader([]byte("{}")))
		require.Error(t, err, "InstallSnapshot to %s accepted (success %v)", target, sresp.Success)
	}
	for _, addr := range masters { // a follower may apply the change a little after the leader answered
		require.Eventually(t, func() bool {
			c := masterConfig(t, ops, addr)
			return c.Epoch == want.Epoch && slices.Equal(memberIDs(c), memberIDs(want))
		}, 10*time.Second, 10*time.Millisecond, "%s never applied epoch %d", addr, want.Epoch)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	u, _, err := masterclient.FetchCluster(ctx2, ops, masters...)
	require.NoError(t, err)
	require.ElementsMatch(t, masters, u.Masters, "the group changed")
}
