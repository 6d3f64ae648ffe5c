package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/tcp"
)

// TestAdminChangesAreCheckedAndRefusalsSayWhy: against a master with raft
// on TCP and TCP address checks (as chaind runs it), add-node of a
// malformed address, remove-master of a master not in the group and
// add-master of a master with nothing behind it are refused, chainctl
// prints the master's one-line reason, and the master still makes
// changes (an add-master used to cost a lone master its quorum).
func TestAdminChangesAreCheckedAndRefusalsSayWhy(t *testing.T) {
	ports, err := launch.FreeLocalMembers(6)
	require.NoError(t, err)
	addr, raftAddr := ports[0].Addr, ports[1].Addr
	tr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = tr.Close() })
	m, err := master.Start(master.Options{Addr: addr, Transport: tr, FailureTimeout: 500 * time.Millisecond,
		Config:   chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: ports[2].Addr}}},
		RaftAddr: raftAddr, CheckAddr: master.CheckTCPAddr})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })

	out, err := ctl(t, "-master", addr, "add-node", "n9", "notanaddr")
	require.Error(t, err)
	require.Contains(t, err.Error(), `add-node n9: chain: invalid argument: address "notanaddr" is not host:port`)
	require.NotContains(t, out, "added")

	out, err = ctl(t, "-master", addr, "remove-master", ports[3].Addr)
	require.Error(t, err)
	require.Contains(t, err.Error(), "no master "+ports[3].Addr+" in the group (its masters: "+addr+")")
	require.NotContains(t, out, "removed")

	_, err = ctl(t, "-master", addr, "add-master", ports[4].Addr, ports[5].Addr)
	require.Error(t, err)
	require.Contains(t, err.Error(), ports[4].Addr+" was not added, it never answered raft within 1s")
	require.Contains(t, err.Error(), "removed again")

	ps, err := m.Masters()
	require.NoError(t, err)
	require.Equal(t, []master.Peer{{Addr: addr, RaftAddr: raftAddr}}, ps)
	out, err = ctl(t, "-master", addr, "add-node", "n2", ports[3].Addr)
	require.NoError(t, err, "the master lost its quorum")
	require.Contains(t, out, "added n2 at "+ports[3].Addr)
}
