package auth_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/wire"
)

// TestAllowedTable is the policy, kind by kind: which roles may send it.
// N node, M master, S server, C client, A admin; "" no role (refused
// everything).
func TestAllowedTable(t *testing.T) {
	table := map[wire.MessageKind]string{
		wire.KindClientRequest:  "NMSCA",
		wire.KindRequestBatch:   "NMSCA",
		wire.KindConfigRequest:  "NMSCA",
		wire.KindClusterRequest: "NMSCA",
		wire.KindClientResponse: "NS",
		wire.KindResponseBatch:  "NS",
		wire.KindPullRequest:    "NS",
		wire.KindPullResponse:   "NS",
		wire.KindCommitNotice:   "NS",
		wire.KindHeartbeat:      "NS",
		wire.KindServerBeat:     "S",
		wire.KindConfigUpdate:   "M",
		wire.KindServerUpdate:   "M",
		wire.KindClusterUpdate:  "M",
		wire.KindAdminResponse:  "M",
		wire.KindAdminRequest:   "A",
		wire.KindEnvelope:       "",
		wire.MessageKind(200):   "",
	}
	letters := map[auth.Role]byte{auth.RoleNode: 'N', auth.RoleMaster: 'M', auth.RoleServer: 'S', auth.RoleClient: 'C', auth.RoleAdmin: 'A'}
	for kind, allowed := range table {
		for _, role := range append([]auth.Role{"", "root"}, auth.Roles()...) {
			want := false
			if l, ok := letters[role]; ok {
				for i := range len(allowed) {
					want = want || allowed[i] == l
				}
			}
			require.Equal(t, want, auth.Allowed(kind, role), "kind %d from role %q", kind, role)
		}
	}
}

func TestAuthorize(t *testing.T) {
	node := &auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"10.0.0.1:7001"}}
	server := &auth.Identity{Role: auth.RoleServer, Name: "s1", Addrs: []string{"10.0.0.9:7101"}}
	master := &auth.Identity{Role: auth.RoleMaster, Name: "m1", Addrs: []string{"10.0.0.1:7000"}}
	admin := &auth.Identity{Role: auth.RoleAdmin, Name: "ops"}
	client := &auth.Identity{Role: auth.RoleClient, Name: "app"}
	noRole := &auth.Identity{}
	for _, tc := range []struct {
		name string
		msg  wire.Message
		peer *auth.Identity
		ok   bool
	}{
		{"unauthenticated transport: anything", &wire.ConfigUpdate{}, nil, true},
		{"unauthenticated transport: admin", &wire.AdminRequest{}, nil, true},
		{"master's config", &wire.ConfigUpdate{}, master, true},
		{"node's config", &wire.ConfigUpdate{}, node, false},
		{"admin's config", &wire.ConfigUpdate{}, admin, false},
		{"roleless config", &wire.ConfigUpdate{}, noRole, false},
		{"client's layout", &wire.ClusterUpdate{}, client, false},
		{"server's placement", &wire.ServerUpdate{}, server, false},
		{"admin change from admin", &wire.AdminRequest{Op: wire.AdminRemoveNode}, admin, true},
		{"admin change from node", &wire.AdminRequest{Op: wire.AdminRemoveNode}, node, false},
		{"admin change from master", &wire.AdminRequest{Op: wire.AdminRemoveNode}, master, false},
		{"own heartbeat", &wire.Heartbeat{ID: "n1", Addr: "10.0.0.1:7001"}, node, true},
		{"heartbeat for another id", &wire.Heartbeat{ID: "n2", Addr: "10.0.0.1:7001"}, node, false},
		{"heartbeat for another address", &wire.Heartbeat{ID: "n1", Addr: "10.0.0.1:7002"}, node, false},
		{"heartbeat for the same host only", &wire.Heartbeat{ID: "n1", Addr: "10.0.0.1"}, node, false},
		{"heartbeat from a master", &wire.Heartbeat{ID: "n1", Addr: "10.0.0.1:7001"}, master, false},
		{"server's replica heartbeat", &wire.Heartbeat{ID: "s1/c3", Addr: "10.0.0.9:7101/c3"}, server, true},
		{"server's heartbeat for another server's replica", &wire.Heartbeat{ID: "s2/c3", Addr: "10.0.0.9:7101/c3"}, server, false},
		{"server's heartbeat at another address", &wire.Heartbeat{ID: "s1/c3", Addr: "10.0.0.8:7101/c3"}, server, false},
		{"server's heartbeat as a plain node", &wire.Heartbeat{ID: "s1", Addr: "10.0.0.9:7101"}, server, false},
		{"own server beat", &wire.ServerBeat{ID: "s1", Addr: "10.0.0.9:7101"}, server, true},
		{"server beat for another server", &wire.ServerBeat{ID: "s2", Addr: "10.0.0.9:7101"}, server, false},
		{"server beat at another address", &wire.ServerBeat{ID: "s1", Addr: "10.0.0.9:7102"}, server, false},
		{"server beat from a node", &wire.ServerBeat{ID: "n1", Addr: "10.0.0.1:7001"}, node, false},
		{"pull from a node", &wire.PullRequest{}, node, true},
		{"pull from a server's replica", &wire.PullRequest{}, server, true},
		{"pull from a client", &wire.PullRequest{}, client, false},
		{"entries from an admin", &wire.PullResponse{}, admin, false},
		{"client request from a client", &wire.ClientRequest{}, client, true},
		{"client request from a roleless certificate", &wire.ClientRequest{}, noRole, false},
		{"config request from anyone", &wire.ConfigRequest{}, client, true},
		{"client response from a client", &wire.ClientResponse{}, client, false},
		{"no message", nil, node, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.Authorize(tc.msg, tc.peer)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, auth.ErrRefused), "%v", err)
		})
	}
}

// TestGuardLogsRefusalsBounded: every refusal is counted, a flood is
// logged a few lines at a time, and each line names the receiver, the
// sender and the reason.
func TestGuardLogsRefusalsBounded(t *testing.T) {
	var buf bytes.Buffer
	g := auth.Guard{Log: slog.New(slog.NewTextHandler(&buf, nil)), Receiver: "node n1"}
	admin := &auth.Identity{Role: auth.RoleAdmin, Name: "ops"}
	for range 100 {
		require.False(t, g.Admit("client-1", &wire.ConfigUpdate{}, admin))
	}
	require.Equal(t, uint64(100), g.Refused())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Less(t, len(lines), 100)
	require.Contains(t, lines[0], "refused message from unauthorized peer")
	require.Contains(t, lines[0], `receiver="node n1"`)
	require.Contains(t, lines[0], "from=client-1")
	require.Contains(t, lines[0], "chain://admin/ops may not send ConfigUpdate")
}

func TestGuardCountsRefusals(t *testing.T) {
	var g auth.Guard
	node := &auth.Identity{Role: auth.RoleNode, Name: "n1"}
	require.True(t, g.Admit("a", &wire.PullRequest{}, node))
	require.False(t, g.Admit("a", &wire.ConfigUpdate{}, node))
	require.False(t, g.Admit("a", &wire.AdminRequest{}, node))
	require.Equal(t, uint64(2), g.Refused())
}
