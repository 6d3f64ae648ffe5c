package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/chainrep/chain/auth"
)

// wantIdentity is what this chaind's certificate must say: its role, its
// name (empty: any) and the addresses it listens at.
type wantIdentity struct {
	role  auth.Role
	name  string
	addrs []string
}

// expectedIdentity returns what the flags make chaind, for its
// certificate to name; an error for a local chain or cluster, whose every
// role runs on one transport, which one certificate cannot carry.
func expectedIdentity(f flags) (wantIdentity, error) {
	switch {
	case f.master.run:
		return wantIdentity{role: auth.RoleMaster, addrs: []string{f.listen}}, nil
	case f.server != "":
		return wantIdentity{role: auth.RoleServer, name: f.server, addrs: []string{f.listen}}, nil
	case f.id != "":
		return wantIdentity{role: auth.RoleNode, name: f.id, addrs: listenAddrs(f)}, nil
	}
	return wantIdentity{}, errors.New("-tls-*: a local chain or cluster runs the master and every node (or server) on one " +
		"transport, which one certificate cannot carry (each has a role of its own): run each with its own chaind and " +
		"certificate, or locally without TLS")
}

// checkIdentity reports why got, the identity of chaind's own
// certificate, does not fit want: peers would refuse what it sends, or
// refuse to talk to it.
func checkIdentity(want wantIdentity, got *auth.Identity) error {
	switch {
	case got.Role == "":
		return fmt.Errorf("-tls-cert names no chain identity (a %s://ROLE/NAME URI SAN): peers would refuse everything "+
			"this %s sends; make its certificate with chainctl certs issue", auth.Scheme, want.role)
	case got.Role != want.role:
		return fmt.Errorf("-tls-cert is %s, but this process runs a %s", got, want.role)
	case want.name != "" && got.Name != want.name:
		return fmt.Errorf("-tls-cert is %s, but this %s is %q", got, want.role, want.name)
	}
	for _, a := range want.addrs {
		if !got.HasAddr(a) {
			return fmt.Errorf("-tls-cert is %s, which does not list %s (%s://%s), the address this %s listens at "+
				"(spelled as the configuration spells it)", got, a, auth.AddrScheme, a, want.role)
		}
	}
	return nil
}

// ownCertificateCheck returns the check of chaind's own certificate,
// applied before chaind listens and to every certificate it reloads: that
// it names what the flags make chaind.
func ownCertificateCheck(f flags) (func(*tls.Certificate) error, error) {
	want, err := expectedIdentity(f)
	if err != nil {
		return nil, err
	}
	return func(cert *tls.Certificate) error {
		if len(cert.Certificate) == 0 {
			return errors.New("-tls-cert: no certificate")
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return fmt.Errorf("-tls-cert: %w", err)
		}
		got, err := auth.FromCertificate(leaf)
		if err != nil {
			return fmt.Errorf("-tls-cert: %w", err)
		}
		return checkIdentity(want, got)
	}, nil
}
