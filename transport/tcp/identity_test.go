package tcp_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// roleEndpoint is an endpoint presenting a certificate for role and name
// that lists its own address (a client endpoint's lists none).
type roleEndpoint struct {
	tr *tcp.Transport
	ep chain.Endpoint
	id *auth.Identity
}

func listenAs(t *testing.T, ca *pki.CA, role auth.Role, name, addr string) roleEndpoint {
	t.Helper()
	var d pki.Deferred
	tr := newTCP(t, tcp.Options{TLS: pki.MutualTLSDeferred(ca, &d)})
	ep := listen(t, tr, addr)
	var addrs []string
	if addr != "" {
		addrs = []string{ep.Addr()}
	}
	leaf, err := ca.Issue(role, name, time.Hour, addrs...)
	require.NoError(t, err)
	d.Set(leaf)
	return roleEndpoint{tr: tr, ep: ep, id: &auth.Identity{Role: role, Name: name, Addrs: addrs}}
}

// TestInboundCarriesVerifiedIdentity: each message arrives with the
// identity its sender's certificate names, on accepted connections and on
// dialed ones (the replies to a client); plain TCP carries none.
func TestInboundCarriesVerifiedIdentity(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	m := listenAs(t, ca, auth.RoleMaster, "m1", "127.0.0.1:0")
	n := listenAs(t, ca, auth.RoleNode, "n1", "127.0.0.1:0")
	c := listenAs(t, ca, auth.RoleAdmin, "ops", "")

	send(t, n.ep, m.ep.Addr(), &wire.Heartbeat{ID: "n1"})
	in := recv(t, m.ep)
	require.Equal(t, n.ep.Addr(), in.From)
	require.Equal(t, n.id, in.Peer)

	send(t, m.ep, in.From, &wire.ConfigUpdate{})
	in = recv(t, n.ep)
	require.Equal(t, m.ep.Addr(), in.From)
	require.Equal(t, m.id, in.Peer)

	send(t, c.ep, m.ep.Addr(), &wire.AdminRequest{ID: 1})
	in = recv(t, m.ep)
	require.Equal(t, c.ep.Addr(), in.From)
	require.Equal(t, &auth.Identity{Role: auth.RoleAdmin, Name: "ops"}, in.Peer)
	send(t, m.ep, in.From, &wire.AdminResponse{ID: 1})
	in = recv(t, c.ep)
	require.Equal(t, m.id, in.Peer, "a reply on a dialed connection carries the dialed endpoint's identity")

	plain := newTCP(t, tcp.Options{})
	a, b := listen(t, plain, "127.0.0.1:0"), listen(t, plain, "127.0.0.1:0")
	send(t, a, b.Addr(), &wire.CommitNotice{})
	require.Nil(t, recv(t, b).Peer)
}

// TestSameHostCertificateCannotClaimAnotherAddress: a certificate of
// another role, valid and for the same host, cannot claim the master's
// address in its hello: the address is checked whole, not its host only.
func TestSameHostCertificateCannotClaimAnotherAddress(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	n := listenAs(t, ca, auth.RoleNode, "n1", "127.0.0.1:0")
	m := listenAs(t, ca, auth.RoleMaster, "m1", "127.0.0.1:0")
	// Another process of the same host, with a node certificate for its
	// own port, poses as the master.
	impostor, err := ca.Issue(auth.RoleNode, "n2", time.Hour, "127.0.0.1:1")
	require.NoError(t, err)
	cfg := pki.MutualTLS(ca, impostor)
	cfg.ServerName = "127.0.0.1"
	conn, err := tls.Dial("tcp", n.ep.Addr(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = conn.Write(rawHello(m.ep.Addr()))
	require.NoError(t, err)
	requireClosedByPeer(t, conn)
	require.Equal(t, uint64(1), n.tr.Stats().Rejected)

	// The real master still gets through.
	send(t, m.ep, n.ep.Addr(), &wire.ConfigUpdate{})
	in := recv(t, n.ep)
	require.Equal(t, m.ep.Addr(), in.From)
	require.Equal(t, m.id, in.Peer)
}

// TestDialedEndpointMustListTheAddressDialed: an endpoint whose
// certificate names a role but not the address dialed (another port of
// the same host) is not talked to.
func TestDialedEndpointMustListTheAddressDialed(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	var d pki.Deferred
	srvTr := newTCP(t, tcp.Options{TLS: pki.MutualTLSDeferred(ca, &d)})
	srv := listen(t, srvTr, "127.0.0.1:0")
	leaf, err := ca.Issue(auth.RoleMaster, "m1", time.Hour, "127.0.0.1:1")
	require.NoError(t, err)
	d.Set(leaf)

	n := listenAs(t, ca, auth.RoleNode, "n1", "127.0.0.1:0")
	send(t, n.ep, srv.Addr(), &wire.Heartbeat{ID: "n1"})
	eventually(t, func() bool { return n.tr.Stats().DialFailures >= 1 }, "the endpoint dialed was accepted")
	requireNone(t, srv, 100*time.Millisecond)
}

// TestCertificateWithoutRole: a certificate that names no chain role is
// checked against the claimed host, as before roles, and its messages
// arrive with the zero role, which receivers allow nothing.
func TestCertificateWithoutRole(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	m := listenAs(t, ca, auth.RoleMaster, "m1", "127.0.0.1:0")
	plainLeaf, err := ca.IssueRaw(nil, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Hour)
	require.NoError(t, err)
	tr := newTCP(t, tcp.Options{TLS: pki.MutualTLS(ca, plainLeaf)})
	ep := listen(t, tr, "127.0.0.1:0")
	send(t, ep, m.ep.Addr(), &wire.ConfigUpdate{})
	in := recv(t, m.ep)
	require.Equal(t, &auth.Identity{}, in.Peer)
	require.Error(t, auth.Authorize(in.Msg, in.Peer))
}
