package tcp_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// TestMutualTLSRejectsMismatchedCertificate: a node whose certificate,
// though issued by the trusted CA, does not cover the address it claims is
// rejected; its client endpoint, which claims no host, is accepted.
func TestMutualTLSRejectsMismatchedCertificate(t *testing.T) {
	pki := newPKI(t)
	srvTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, loopback))})
	srv := listen(t, srvTr, "127.0.0.1:0")

	goodTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, loopback))})
	good := listen(t, goodTr, "127.0.0.1:0")
	impTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, []net.IP{net.IPv4(127, 0, 0, 2)}, "impostor.test"))})
	imp := listen(t, impTr, "127.0.0.1:0")
	impClient := listen(t, impTr, "")

	send(t, imp, srv.Addr(), &wire.CommitNotice{Commit: 1})
	eventually(t, func() bool { return srvTr.Stats().Rejected == 1 }, "impostor not rejected")
	requireNone(t, srv, 100*time.Millisecond)

	send(t, good, srv.Addr(), &wire.CommitNotice{Commit: 2})
	in := recv(t, srv)
	require.Equal(t, good.Addr(), in.From)
	require.Equal(t, &wire.CommitNotice{Commit: 2}, in.Msg)

	send(t, impClient, srv.Addr(), &wire.CommitNotice{Commit: 3})
	in = recv(t, srv)
	require.Equal(t, impClient.Addr(), in.From)
	send(t, srv, in.From, &wire.CommitNotice{Commit: 4})
	require.Equal(t, srv.Addr(), recv(t, impClient).From)
	require.Equal(t, uint64(1), srvTr.Stats().Rejected)
}

// TestMutualTLSRejectsUntrustedPeers: a certificate from another CA, or
// none, fails the handshake.
func TestMutualTLSRejectsUntrustedPeers(t *testing.T) {
	pki := newPKI(t)
	srvTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, loopback))})
	srv := listen(t, srvTr, "127.0.0.1:0")

	other := newPKI(t)
	foreign := other.mtls(other.leaf(t, loopback))
	foreign.RootCAs = pki.pool // trusts the server, but is not trusted by it
	noCert := &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS13}
	for i, cfg := range []*tls.Config{foreign, noCert} {
		tr := newTCP(t, tcp.Options{TLS: cfg})
		for _, ep := range []chain.Endpoint{listen(t, tr, "127.0.0.1:0"), listen(t, tr, "")} {
			send(t, ep, srv.Addr(), &wire.CommitNotice{Commit: uint64(i)})
		}
	}
	eventually(t, func() bool { return srvTr.Stats().Rejected == 4 }, "untrusted peers not rejected")
	requireNone(t, srv, 100*time.Millisecond)
}

// TestServerCertificateChecked: the dialing side checks the server's
// certificate against the host it dials.
func TestServerCertificateChecked(t *testing.T) {
	pki := newPKI(t)
	srvTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, nil, "elsewhere.test"))})
	srv := listen(t, srvTr, "127.0.0.1:0")
	cliTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, loopback))})
	cl := listen(t, cliTr, "")
	send(t, cl, srv.Addr(), &wire.CommitNotice{Commit: 1})
	eventually(t, func() bool { return cliTr.Stats().DialFailures == 1 }, "server certificate accepted")
	requireNone(t, srv, 100*time.Millisecond)
	require.Equal(t, uint64(1), cliTr.Stats().Dropped)
}

// TestVerifyPeerCustom: a custom VerifyPeer sees the claimed address and
// the TLS state, and its refusal closes the connection.
func TestVerifyPeerCustom(t *testing.T) {
	pki := newPKI(t)
	var mu sync.Mutex
	var claimed []string
	srvTr := newTCP(t, tcp.Options{
		TLS: pki.mtls(pki.leaf(t, loopback)),
		VerifyPeer: func(addr string, cs tls.ConnectionState) error {
			mu.Lock()
			defer mu.Unlock()
			claimed = append(claimed, addr)
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			if tcp.IsClientAddr(addr) {
				return errors.New("no clients here")
			}
			return tcp.DefaultVerifyPeer(addr, cs)
		},
	})
	srv := listen(t, srvTr, "127.0.0.1:0")
	tr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, loopback))})
	node, cl := listen(t, tr, "127.0.0.1:0"), listen(t, tr, "")

	send(t, cl, srv.Addr(), &wire.CommitNotice{Commit: 1})
	eventually(t, func() bool { return srvTr.Stats().Rejected == 1 }, "client not rejected")
	send(t, node, srv.Addr(), &wire.CommitNotice{Commit: 2})
	require.Equal(t, &wire.CommitNotice{Commit: 2}, recv(t, srv).Msg)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{cl.Addr(), node.Addr()}, claimed)
}

// TestClientAddressBoundToCertificate: while a client's connection lives,
// another connection claiming its address must present the same
// certificate: another peer cannot steal its replies, while the client
// itself may reconnect.
func TestClientAddressBoundToCertificate(t *testing.T) {
	pki := newPKI(t)
	srvTr := newTCP(t, tcp.Options{TLS: pki.mtls(pki.leaf(t, loopback))})
	srv := listen(t, srvTr, "127.0.0.1:0")
	clientCert := pki.leaf(t, loopback)
	cliTr := newTCP(t, tcp.Options{TLS: pki.mtls(clientCert)})
	cl := listen(t, cliTr, "")
	send(t, cl, srv.Addr(), &wire.CommitNotice{Commit: 1})
	recv(t, srv)

	dial := func(cert tls.Certificate) *tls.Conn {
		cfg := pki.mtls(cert)
		cfg.ServerName = "127.0.0.1"
		c, err := tls.Dial("tcp", srv.Addr(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = c.Write(rawHello(cl.Addr()))
		require.NoError(t, err)
		return c
	}

	// A thief with another valid certificate is refused, and the reply
	// still reaches the client.
	thief := dial(pki.leaf(t, loopback))
	requireClosedByPeer(t, thief)
	require.Equal(t, uint64(1), srvTr.Stats().Rejected)
	send(t, srv, cl.Addr(), &wire.CommitNotice{Commit: 2})
	require.Equal(t, &wire.CommitNotice{Commit: 2}, recv(t, cl).Msg)

	// The same certificate takes the route over (a reconnecting client).
	again := dial(clientCert)
	eventually(t, func() bool {
		send(t, srv, cl.Addr(), &wire.CommitNotice{Commit: 3})
		require.NoError(t, again.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
		var hdr [4]byte
		if _, err := io.ReadFull(again, hdr[:]); err != nil {
			return false
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		require.NoError(t, again.SetReadDeadline(time.Now().Add(waitTimeout)))
		_, err := io.ReadFull(again, p)
		require.NoError(t, err)
		require.Equal(t, byte(wire.KindCommitNotice), p[0])
		return true
	}, "the reconnected client got no reply")
}

// testPKI is a certificate authority made for one test.
type testPKI struct {
	ca   *pki.CA
	pool *x509.CertPool
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	ca, err := pki.NewCA("chain test CA", 24*time.Hour)
	require.NoError(t, err)
	return &testPKI{ca: ca, pool: ca.Pool()}
}

// leaf issues a certificate for both server and client use, with the given
// IP and DNS SANs and no identity.
func (p *testPKI) leaf(t testing.TB, ips []net.IP, dns ...string) tls.Certificate {
	t.Helper()
	l, err := p.ca.IssueRaw(nil, ips, dns, 24*time.Hour)
	require.NoError(t, err)
	return l.TLS()
}

// mtls returns a mutual-TLS config presenting cert and trusting the CA.
func (p *testPKI) mtls(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      p.pool,
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

var loopback = []net.IP{net.IPv4(127, 0, 0, 1)}
