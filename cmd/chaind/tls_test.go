package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// newCAFiles makes a CA for one test and writes its certificate to
// dir/ca.pem, where certFiles's -tls-ca flag points.
func newCAFiles(t *testing.T) (ca *pki.CA, dir string) {
	t.Helper()
	dir = t.TempDir()
	ca, err := pki.NewCA("chaind test CA", time.Hour)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), pki.CertPEM(ca.Cert), 0o600))
	return ca, dir
}

// certFiles writes a certificate of ca for chain://role/name listing
// addrs, and returns its -tls-* flags.
func certFiles(t *testing.T, ca *pki.CA, dir string, role auth.Role, name string, addrs ...string) []string {
	t.Helper()
	base, err := ca.IssueFiles(dir, role, name, time.Hour, false, addrs...)
	require.NoError(t, err)
	return []string{"-tls-cert", base + ".pem", "-tls-key", base + "-key.pem", "-tls-ca", filepath.Join(dir, "ca.pem")}
}

// clientTransport returns a TCP transport with the -tls-* files of args.
func clientTransport(t *testing.T, args []string) *tcp.Transport {
	t.Helper()
	cfg, err := flagvalue.TLSFiles{Cert: args[1], Key: args[3], CA: args[5]}.Config()
	require.NoError(t, err)
	tr := tcp.New(tcp.Options{TLS: cfg})
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// TestMutualTLSWithRoles: a master and three nodes run by chaind with a
// certificate of their own role serve under mutual TLS; an admin's
// certificate may change the membership, a client's may not.
func TestMutualTLSWithRoles(t *testing.T) {
	ca, dir := newCAFiles(t)
	ports, err := launch.FreeLocalMembers(4)
	require.NoError(t, err)
	masterAddr, members := ports[3].Addr, ports[:3]
	list := flagvalue.FormatMembers(members)

	startProcess(t, append([]string{"-master", "-listen", masterAddr, "-members", list, "-log-level", "warn"},
		certFiles(t, ca, dir, auth.RoleMaster, "m1", masterAddr)...)...)
	for _, m := range members {
		p := startRun(t, append([]string{"-id", m.ID, "-members", list, "-master", masterAddr, "-log-level", "warn"},
			certFiles(t, ca, dir, auth.RoleNode, m.ID, m.Addr)...)...)
		waitFor(t, p, "listening on "+m.Addr)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	app := clientTransport(t, certFiles(t, ca, dir, auth.RoleClient, "app"))
	client, err := chain.NewClient(chain.WithTransport(app), chain.WithMaster(masterAddr))
	require.NoError(t, err)
	defer client.Close()
	_, err = client.Append(ctx, []byte("over mutual TLS"))
	require.NoError(t, err)

	remove := &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n3"}}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = masterclient.Admin(short, app, []string{masterAddr}, remove)
	cancelShort()
	require.Error(t, err, "a client's certificate changed the membership")
	require.Len(t, masterConfig(t, app, masterAddr).Members, 3)

	ops := clientTransport(t, certFiles(t, ca, dir, auth.RoleAdmin, "ops"))
	resp, err := masterclient.Admin(ctx, ops, []string{masterAddr}, remove)
	require.NoError(t, err)
	require.Nil(t, resp.Err)
	require.Equal(t, []string{"n1", "n2"}, memberIDs(masterConfig(t, ops, masterAddr)))
	_, err = client.Append(ctx, []byte("after the admin's change"))
	require.NoError(t, err)
}
