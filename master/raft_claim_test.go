package master

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/internal/testutil"
)

func TestCheckRaftClaim(t *testing.T) {
	m1 := &auth.Identity{Role: auth.RoleMaster, Name: "m1", Addrs: []string{"10.0.0.1:7000"}}
	servers := []raft.Server{
		{ID: "10.0.0.1:7000", Address: "10.0.0.1:7100"},
		{ID: "10.0.0.2:7000", Address: "10.0.0.2:7100"},
	}
	for name, c := range map[string]struct {
		peer    *auth.Identity
		claim   raftClaim
		servers []raft.Server
		known   bool
		ok      bool
	}{
		"own ID by address, configured raft address": {m1, raftClaim{"10.0.0.1:7000", []string{"10.0.0.1:7100"}}, servers, true, true},
		"own ID by name":                           {&auth.Identity{Role: auth.RoleMaster, Name: "10.0.0.2:7000"}, raftClaim{"10.0.0.2:7000", nil}, servers, true, true},
		"another member's ID":                      {m1, raftClaim{"10.0.0.2:7000", []string{"10.0.0.2:7100"}}, servers, true, false},
		"own ID, another member's raft address":    {m1, raftClaim{"10.0.0.1:7000", []string{"10.0.0.2:7100"}}, servers, true, false},
		"own ID, another address in the old field": {m1, raftClaim{"10.0.0.1:7000", []string{"10.0.0.1:7100", "10.0.0.2:7100"}}, servers, true, false},
		"no ID":                                {m1, raftClaim{"", []string{"10.0.0.1:7100"}}, servers, true, false},
		"not a member":                         {&auth.Identity{Role: auth.RoleMaster, Name: "m9", Addrs: []string{"10.0.0.9:7000"}}, raftClaim{"10.0.0.9:7000", nil}, servers, true, false},
		"empty configuration: the ID alone":    {m1, raftClaim{"10.0.0.1:7000", []string{"10.9.9.9:1"}}, nil, true, true},
		"empty configuration, another ID":      {m1, raftClaim{"10.0.0.2:7000", nil}, nil, true, false},
		"raft not running yet":                 {m1, raftClaim{"10.0.0.1:7000", nil}, nil, false, false},
		"a certificate with no chain identity": {&auth.Identity{}, raftClaim{"10.0.0.2:7000", nil}, servers, true, true},
		"no identity (nothing authenticated)":  {nil, raftClaim{"10.0.0.2:7000", nil}, servers, true, true},
	} {
		err := checkRaftClaim(c.peer, c.claim, c.servers, c.known)
		if c.ok {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, errRaftImpersonation, name)
		}
	}
}

// TestCheckDialedPeer: the peer answering at a raft address this master
// dialed must present the certificate of the member at that address: one
// naming the address as written, or the server the configuration gives
// it (by name or address, as checkRaftClaim binds a server ID).
func TestCheckDialedPeer(t *testing.T) {
	servers := []raft.Server{
		{ID: "10.0.0.1:7000", Address: "10.0.0.1:7100"},
		{ID: "10.0.0.2:7000", Address: "10.0.0.2:7100"},
		{ID: "m3:7000", Address: "m3:7100"},
	}
	master := func(name string, addrs ...string) *auth.Identity {
		return &auth.Identity{Role: auth.RoleMaster, Name: name, Addrs: addrs}
	}
	for name, c := range map[string]struct {
		peer    *auth.Identity
		addr    string
		servers []raft.Server
		known   bool
		ok      bool
	}{
		"names the raft address":                                   {master("m3", "m3:7000", "m3:7100"), "m3:7100", servers, true, true},
		"names the member's ID among its addresses":                {master("m1", "10.0.0.1:7000"), "10.0.0.1:7100", servers, true, true},
		"names the member's ID as its name":                        {master("10.0.0.2:7000"), "10.0.0.2:7100", servers, true, true},
		"names the raft address, raft not running yet":             {master("m3", "m3:7100"), "m3:7100", nil, false, true},
		"names the raft address, not configured":                   {master("m9", "10.0.0.9:7100"), "10.0.0.9:7100", servers, true, true},
		"another member's certificate":                             {master("m1", "10.0.0.1:7000", "10.0.0.1:7100"), "10.0.0.2:7100", servers, true, false},
		"the raft address spelled otherwise":                       {master("m3", "m3:7000", "10.0.0.3:7100"), "m3:7100", nil, true, false},
		"another port of the host":                                 {master("m1", "10.0.0.1:7000"), "10.0.0.1:7200", servers, true, false},
		"the member's ID, raft not running yet":                    {master("m1", "10.0.0.1:7000"), "10.0.0.1:7100", nil, false, false},
		"naming the address, of a node (roles: RequireMasterRole)": {&auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"10.0.0.1:7100"}}, "10.0.0.1:7100", servers, true, true},
		"a node's certificate naming another address":              {&auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"10.0.0.1:7001"}}, "10.0.0.1:7100", servers, true, false},
		"an admin's certificate":                                   {&auth.Identity{Role: auth.RoleAdmin, Name: "ops"}, "10.0.0.1:7100", servers, true, false},
		"a certificate with no chain identity":                     {&auth.Identity{}, "10.0.0.1:7100", servers, true, true},
		"no identity (nothing authenticated)":                      {nil, "10.0.0.1:7100", servers, true, true},
	} {
		err := checkDialedPeer(c.peer, c.addr, c.servers, c.known)
		if c.ok {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, errRaftWrongPeer, name)
		}
	}
}

// TestRaftRPCImpersonatingAMemberIsRefused: with per-role certificates
// (as chaind runs), a master's certificate of the group's CA cannot speak
// for a member it does not name: an AppendEntries at term 600 claiming to
// be the first master, from an outsider's master certificate and from
// the third master's own, and one from the third master claiming the
// first's raft address, are refused with a log line; no master takes the
// forged term, and the group still decides. The third master's
// certificate, used for itself, is not refused.
func TestRaftRPCImpersonatingAMemberIsRefused(t *testing.T) {
	ca, err := pki.NewCA("chain test CA", time.Hour)
	require.NoError(t, err)
	issue := func(name string, addrs ...string) *tls.Config {
		leaf, err := ca.Issue(auth.RoleMaster, name, time.Hour, addrs...)
		require.NoError(t, err)
		return pki.MutualTLS(ca, leaf)
	}
	var logs testutil.SyncBuffer
	masters, peers := startTLSGroup(t, func(p Peer) *tls.Config { return issue(p.Addr, p.RaftAddr) },
		slog.New(slog.NewTextHandler(&logs, nil)), RequireMasterRole)
	awaitGroupLeader(t, masters)

	first, third := peers[0], peers[2]
	forge := func(cfg *tls.Config, target Peer, id, addr string) error {
		tr := raft.NewNetworkTransport(newAttackStream(t, cfg), 1, time.Second, io.Discard)
		defer tr.Close()
		var resp raft.AppendEntriesResponse
		return tr.AppendEntries(raft.ServerID(id), raft.ServerAddress(target.RaftAddr), &raft.AppendEntriesRequest{
			RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(id), Addr: []byte(addr)},
			Term:      600, Leader: []byte(addr),
		}, &resp)
	}
	outsider := issue("intruder", "127.0.0.1:1")
	thirds := issue(third.Addr, third.RaftAddr)
	for _, target := range peers[1:] {
		require.Error(t, forge(outsider, target, first.Addr, first.RaftAddr), "an outsider passed for %s", first.Addr)
		require.Error(t, forge(thirds, target, first.Addr, first.RaftAddr), "%s passed for %s", third.Addr, first.Addr)
	}
	require.Error(t, forge(thirds, peers[1], third.Addr, first.RaftAddr), "%s claimed %s's raft address", third.Addr, first.Addr)
	require.Contains(t, logs.String(), "raft RPC refused: a master's certificate speaks only for the member it names")
	for _, m := range masters {
		require.Less(t, m.raft.CurrentTerm(), uint64(500), "%s took a forged term", m.Addr())
	}

	// The third master's certificate speaks for the third master: a
	// stale AppendEntries (term 0) in its own name is answered, not refused.
	tr := raft.NewNetworkTransport(newAttackStream(t, thirds), 1, time.Second, io.Discard)
	defer tr.Close()
	var resp raft.AppendEntriesResponse
	require.NoError(t, tr.AppendEntries(raft.ServerID(third.Addr), raft.ServerAddress(first.RaftAddr), &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(third.Addr), Addr: []byte(third.RaftAddr)},
	}, &resp))
	require.False(t, resp.Success)

	// A snapshot in another member's name is refused too, before its
	// data is read.
	snap, args := forgedSnapshot(t, raft.ServerAddress(first.RaftAddr))
	args.ID = []byte(first.Addr)
	trs := raft.NewNetworkTransport(newAttackStream(t, thirds), 1, time.Second, io.Discard)
	defer trs.Close()
	var sresp raft.InstallSnapshotResponse
	require.Error(t, trs.InstallSnapshot(raft.ServerID(first.Addr), raft.ServerAddress(peers[1].RaftAddr), args, &sresp, bytes.NewReader(snap)))
	require.Len(t, removeN2(t, masters).Members, 1)
}
