package pki_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
)

func TestIssuedCertificateCarriesItsIdentity(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	leaf, err := ca.Issue(auth.RoleNode, "n1", time.Hour, "127.0.0.1:7001", "db1.example:7001")
	require.NoError(t, err)
	id, err := auth.FromCertificate(leaf.Cert)
	require.NoError(t, err)
	require.Equal(t, &auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"127.0.0.1:7001", "db1.example:7001"}}, id)
	require.NoError(t, leaf.Cert.VerifyHostname("127.0.0.1"))
	require.NoError(t, leaf.Cert.VerifyHostname("db1.example"))

	keyPEM, err := pki.KeyPEM(ca.Key)
	require.NoError(t, err)
	again, err := pki.LoadCA(pki.CertPEM(ca.Cert), keyPEM)
	require.NoError(t, err)
	require.True(t, again.Cert.Equal(ca.Cert))

	_, err = ca.Issue("root", "x", time.Hour)
	require.Error(t, err)
	_, err = ca.Issue(auth.RoleNode, "n1", time.Hour, "no-port")
	require.Error(t, err)
}
