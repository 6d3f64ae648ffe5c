package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/tcp"
)

// tlsFiles issues a certificate of ca for chain://role/name listing
// addrs into dir (which holds ca.pem), and returns its -tls-* files.
func tlsFiles(t *testing.T, ca *pki.CA, dir string, role auth.Role, name string, addrs ...string) flagvalue.TLSFiles {
	t.Helper()
	base, err := ca.IssueFiles(dir, role, name, time.Hour, false, addrs...)
	require.NoError(t, err)
	return flagvalue.TLSFiles{Cert: base + ".pem", Key: base + "-key.pem", CA: filepath.Join(dir, "ca.pem")}
}

// tlsTransport returns a TCP transport over mutual TLS with files.
func tlsTransport(t *testing.T, files flagvalue.TLSFiles) chain.Transport {
	t.Helper()
	cfg, err := files.Config()
	require.NoError(t, err)
	tr := tcp.New(tcp.Options{TLS: cfg})
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// TestRunOverMutualTLS loads a chain whose master and nodes accept only
// mutual TLS with certificates of their CA (each of its own role), on
// 127.0.0.1: with a client's -tls-* files benchit runs through the
// master and on the static member list; without them it fails.
func TestRunOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("benchit test CA", time.Hour)
	require.NoError(t, err)
	require.NoError(t, ca.WriteFiles(dir, false))
	addrs, err := launch.FreeLocalMembers(4) // three nodes and the master
	require.NoError(t, err)
	members, masterAddr := addrs[:3], addrs[3].Addr
	cfg := chain.Config{Epoch: 1, Members: members}

	m, err := master.Start(master.Options{Addr: masterAddr, Config: cfg, FailureTimeout: 2 * time.Second,
		Transport: tlsTransport(t, tlsFiles(t, ca, dir, auth.RoleMaster, "m1", masterAddr))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	for _, mem := range members {
		n, err := launch.StartNode(context.Background(), launch.NodeConfig{ID: mem.ID, Config: cfg, Masters: []string{masterAddr},
			Transport: tlsTransport(t, tlsFiles(t, ca, dir, auth.RoleNode, mem.ID, mem.Addr))})
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
	}
	client := tlsFiles(t, ca, dir, auth.RoleClient, "bench")
	flags := []string{"-tls-cert", client.Cert, "-tls-key", client.Key, "-tls-ca", client.CA}

	s := runJSON(t, append([]string{"-master", masterAddr, "-n", "300", "-w", "1", "-c", "8", "-query", "0.3"}, flags...)...)
	require.Equal(t, "chain-remote-master", s.Mode)
	require.EqualValues(t, 300, s.Ops)
	require.Zero(t, s.Errors)
	require.Positive(t, s.Queries)

	s = runJSON(t, append([]string{"-members", flagvalue.FormatMembers(members), "-n", "200", "-w", "2", "-c", "4"}, flags...)...)
	require.Equal(t, "chain-remote", s.Mode)
	require.EqualValues(t, 200, s.Ops)
	require.Zero(t, s.Errors)

	// Plain TCP to the same chain gets no answer: the run fails.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.Error(t, run(ctx, []string{"-json", "-master", masterAddr, "-n", "10"}, &stdout, &stderr))
}
