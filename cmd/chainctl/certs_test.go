package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/flagvalue"
)

// TestCertsMakesPerRoleCertificates: chainctl certs makes a CA and
// certificates that chaind's -tls-* flags load, each naming its role,
// identity and addresses, and signed by the CA.
func TestCertsMakesPerRoleCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	std := stdio{out: io.Discard}
	require.NoError(t, run(t.Context(), []string{"certs", "init", dir}, std))
	require.NoError(t, run(t.Context(), []string{"certs", "issue", "-days", "2", dir, "node", "n1", "127.0.0.1:7001"}, std))
	require.NoError(t, run(t.Context(), []string{"certs", "issue", dir, "admin", "ops"}, std))

	info, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	cfg, err := flagvalue.TLSFiles{Cert: filepath.Join(dir, "node-n1.pem"), Key: filepath.Join(dir, "node-n1-key.pem"),
		CA: filepath.Join(dir, "ca.pem")}.Config()
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	id, err := auth.FromCertificate(leaf)
	require.NoError(t, err)
	require.Equal(t, &auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"127.0.0.1:7001"}}, id)

	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "admin-ops.pem"), filepath.Join(dir, "admin-ops-key.pem"))
	require.NoError(t, err)
	admin, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	id, err = auth.FromCertificate(admin)
	require.NoError(t, err)
	require.Equal(t, &auth.Identity{Role: auth.RoleAdmin, Name: "ops"}, id)

	for _, args := range [][]string{
		{"certs", "init", dir},                                       // exists: never overwritten
		{"certs", "issue", dir, "node", "n1", "127.0.0.1:7001"},      // exists
		{"certs", "issue", dir, "root", "x"},                         // unknown role
		{"certs", "issue", dir, "node", "n2"},                        // a node needs its address
		{"certs", "issue", dir, "client", "app", "127.0.0.1:1"},      // a client listens nowhere
		{"certs", "issue", dir, "node", "../n3", "127.0.0.1:7003"},   // a path
		{"certs", "issue", dir, "node", "n4", "127.0.0.1"},           // no port
		{"certs", "issue", t.TempDir(), "node", "n5", "127.0.0.1:1"}, // no CA
		{"certs", "bogus"},
	} {
		require.Error(t, run(t.Context(), args, std), "%q", args)
	}
}

func TestAdminNeedsAnAdminCertificate(t *testing.T) {
	client := &auth.Identity{Role: auth.RoleClient, Name: "app"}
	err := adminAllowed(client, "remove-node")
	require.ErrorContains(t, err, "remove-node needs an admin's certificate (chain://admin/NAME): -tls-cert is chain://client/app")
	require.NoError(t, adminAllowed(&auth.Identity{Role: auth.RoleAdmin, Name: "ops"}, "add-node"))
	require.NoError(t, adminAllowed(nil, "add-node"), "without TLS the master decides")
}
