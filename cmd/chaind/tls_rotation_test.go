package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/transport/tcp"
)

// servedSerial returns the serial of the certificate the TLS server at
// addr presents to a handshake with cfg.
func servedSerial(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "handshake failed: " + err.Error()
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestCertificateRotationWithoutRestart: a master and three nodes run by
// chaind under mutual TLS move to a new CA without a restart: the CA
// files gain the new CA, then the master's certificate is replaced by one
// of the new CA, each step taken on SIGHUP; new handshakes get the new
// certificate, and the chain serves a client throughout. A broken
// certificate file then leaves the master presenting the one before, and
// serving.
func TestCertificateRotationWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	oldCA, err := pki.NewCA("old CA", time.Hour)
	require.NoError(t, err)
	newCA, err := pki.NewCA("new CA", time.Hour)
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pki.CertPEM(oldCA.Cert), 0o600))
	ports, err := launch.FreeLocalMembers(4)
	require.NoError(t, err)
	masterAddr, members := ports[3].Addr, ports[:3]
	list := flagvalue.FormatMembers(members)

	masterFlags := certFiles(t, oldCA, dir, auth.RoleMaster, "m1", masterAddr)
	startProcess(t, append([]string{"-master", "-listen", masterAddr, "-members", list, "-log-level", "error"}, masterFlags...)...)
	for _, m := range members {
		p := startRun(t, append([]string{"-id", m.ID, "-members", list, "-master", masterAddr, "-log-level", "error"},
			certFiles(t, oldCA, dir, auth.RoleNode, m.ID, m.Addr)...)...)
		waitFor(t, p, "listening on "+m.Addr)
	}
	appFlags := certFiles(t, oldCA, dir, auth.RoleClient, "app")
	appCfg, err := flagvalue.TLSFiles{Cert: appFlags[1], Key: appFlags[3], CA: appFlags[5]}.Config()
	require.NoError(t, err)
	appCfg.RootCAs.AddCert(newCA.Cert) // the client trusts both CAs
	app := tcp.New(tcp.Options{TLS: appCfg})
	defer app.Close()
	client, err := chain.NewClient(chain.WithTransport(app), chain.WithMaster(masterAddr))
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	appendOK := func(what string) {
		t.Helper()
		_, err := client.Append(ctx, []byte(what))
		require.NoError(t, err, what)
	}
	appendOK("before the rotation")
	oldSerial := servedSerial(t, masterAddr, appCfg)
	require.NotContains(t, oldSerial, "failed")
	hup := func() { require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP)) }

	// 1. Every process trusts both CAs.
	require.NoError(t, os.WriteFile(caFile, append(pki.CertPEM(oldCA.Cert), pki.CertPEM(newCA.Cert)...), 0o600))
	hup()
	// 2. The master's certificate is one of the new CA.
	leaf, err := newCA.Issue(auth.RoleMaster, "m1", time.Hour, masterAddr)
	require.NoError(t, err)
	key, err := pki.KeyPEM(leaf.Key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(masterFlags[3], key, 0o600))
	require.NoError(t, os.WriteFile(masterFlags[1], pki.CertPEM(leaf.Cert), 0o600))
	want := leaf.Cert.SerialNumber.String()
	require.Eventually(t, func() bool {
		hup() // until every process has reloaded both steps
		return servedSerial(t, masterAddr, appCfg) == want
	}, 15*time.Second, 50*time.Millisecond, "the master never presented its new certificate")
	appendOK("after the master's rotation")

	// A new client's connections, and the master's to it, verify the new
	// certificate and the client's old one (the master trusts both CAs).
	require.NoError(t, client.Close())
	require.NoError(t, app.Close())
	app2 := tcp.New(tcp.Options{TLS: appCfg})
	defer app2.Close()
	client2, err := chain.NewClient(chain.WithTransport(app2), chain.WithMaster(masterAddr))
	require.NoError(t, err)
	defer client2.Close()
	_, err = client2.Append(ctx, []byte("from a client of the rotated master"))
	require.NoError(t, err)

	// 3. A broken certificate file keeps the certificate before.
	require.NoError(t, os.WriteFile(masterFlags[1], []byte("-----BEGIN CERTIFICATE-----\nbroken\n"), 0o600))
	for range 3 {
		hup()
		require.Equal(t, want, servedSerial(t, masterAddr, appCfg), "a broken file replaced the certificate")
	}
	_, err = client2.Append(ctx, []byte("after a broken certificate file"))
	require.NoError(t, err)
}
