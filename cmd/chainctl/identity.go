package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/wire"
)

// ownIdentity returns the identity chainctl's certificate names, or nil
// without TLS (or when it cannot be read: the handshake will say why).
func ownIdentity(cfg *tls.Config) *auth.Identity {
	if cfg == nil || len(cfg.Certificates) == 0 || len(cfg.Certificates[0].Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		return nil
	}
	id, err := auth.FromCertificate(leaf)
	if err != nil {
		return nil
	}
	return id
}

// adminAllowed says, before anything is sent, that a membership change
// (what) needs an admin's certificate: the master drops an admin request
// from any other role without an answer, so chainctl would only time out.
func adminAllowed(id *auth.Identity, what string) error {
	if id == nil || auth.Allowed(wire.KindAdminRequest, id.Role) {
		return nil
	}
	return fmt.Errorf("%s needs an admin's certificate (%s): -tls-cert is %s, whose requests the masters refuse "+
		"(chainctl certs issue DIR admin NAME makes one)", what, auth.URI(auth.RoleAdmin, "NAME"), id)
}
