package auth_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
)

func TestFromCertificate(t *testing.T) {
	ca, err := pki.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		name string
		uris []*url.URL
		want *auth.Identity // nil: an error
	}{
		{"master", []*url.URL{u("chain://master/m1"), u("chain-addr://10.0.0.1:7000")},
			&auth.Identity{Role: auth.RoleMaster, Name: "m1", Addrs: []string{"10.0.0.1:7000"}}},
		{"admin without addresses", []*url.URL{u("chain://admin/ops")}, &auth.Identity{Role: auth.RoleAdmin, Name: "ops"}},
		{"IPv6 address", []*url.URL{u("chain://node/n1"), u("chain-addr://[::1]:7001")},
			&auth.Identity{Role: auth.RoleNode, Name: "n1", Addrs: []string{"[::1]:7001"}}},
		{"no identity: no role, addresses ignored", []*url.URL{u("chain-addr://10.0.0.1:7000"), u("spiffe://x/y")}, &auth.Identity{}},
		{"other schemes ignored", []*url.URL{u("spiffe://x/y"), u("chain://client/app")}, &auth.Identity{Role: auth.RoleClient, Name: "app"}},
		{"two identities", []*url.URL{u("chain://node/n1"), u("chain://master/m1")}, nil},
		{"unknown role", []*url.URL{u("chain://root/x")}, nil},
		{"empty name", []*url.URL{u("chain://node/")}, nil},
		{"query", []*url.URL{u("chain://node/n1?x=1")}, nil},
		{"address without port", []*url.URL{u("chain://node/n1"), u("chain-addr://10.0.0.1")}, nil},
		{"address with path", []*url.URL{u("chain://node/n1"), u("chain-addr://10.0.0.1:1/x")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf, err := ca.IssueRaw(tc.uris, nil, nil, time.Hour)
			require.NoError(t, err)
			id, err := auth.FromCertificate(leaf.Cert)
			if tc.want == nil {
				require.True(t, errors.Is(err, auth.ErrBadIdentity), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, id)
		})
	}
}
