package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
)

func TestCheckIdentity(t *testing.T) {
	node := wantIdentity{role: auth.RoleNode, name: "n1", addrs: []string{"10.0.0.1:7001"}}
	master := wantIdentity{role: auth.RoleMaster, addrs: []string{"10.0.0.9:7000"}}
	for _, tc := range []struct {
		name string
		want wantIdentity
		got  auth.Identity
		ok   bool
	}{
		{"node", node, auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"10.0.0.1:7001"}}, true},
		{"master of any name", master, auth.Identity{Role: auth.RoleMaster, Name: "m7", Addrs: []string{"10.0.0.9:7000", "m:1"}}, true},
		{"no role", node, auth.Identity{}, false},
		{"another role", node, auth.Identity{Role: auth.RoleMaster, Name: "n1", Addrs: []string{"10.0.0.1:7001"}}, false},
		{"another node", node, auth.Identity{Role: auth.RoleNode, Name: "n2", Addrs: []string{"10.0.0.1:7001"}}, false},
		{"another port", node, auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"10.0.0.1:7002"}}, false},
		{"the host spelled otherwise", master, auth.Identity{Role: auth.RoleMaster, Name: "m1", Addrs: []string{"db9:7000"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkIdentity(tc.want, &tc.got)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

// TestRefusesCertificateOfAnotherIdentity: chaind says, before it
// listens, that its certificate is not the one its flags need.
func TestRefusesCertificateOfAnotherIdentity(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("chaind test CA", time.Hour)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), pki.CertPEM(ca.Cert), 0o600))
	tlsFlags := certFiles(t, ca, dir, auth.RoleNode, "n1", "127.0.0.1:7001")

	err = run(t.Context(), append([]string{"-master", "-listen", "127.0.0.1:7000", "-members", "n1=127.0.0.1:7001"}, tlsFlags...), io.Discard)
	require.ErrorContains(t, err, "-tls-cert is chain://node/n1 [127.0.0.1:7001], but this process runs a master")
	err = run(t.Context(), append([]string{"-id", "n2", "-members", "n1=127.0.0.1:7001,n2=127.0.0.1:7002"}, tlsFlags...), io.Discard)
	require.ErrorContains(t, err, `but this node is "n2"`)
	err = run(t.Context(), append([]string{"-nodes", "1"}, tlsFlags...), io.Discard)
	require.ErrorContains(t, err, "a local chain or cluster runs the master and every node")
}
