package tcp

import (
	"crypto/tls"
	"fmt"

	"github.com/chainrep/chain/auth"
)

// peerIdentity returns the verified identity of the peer of a TLS
// connection (see package auth): nil without TLS (plain TCP authenticates
// nothing), the zero-role identity for a peer that presented no verified
// certificate or one naming no role, and an error for a certificate whose
// identity is malformed.
func peerIdentity(cs *tls.ConnectionState) (*auth.Identity, error) {
	if cs == nil {
		return nil, nil
	}
	if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return &auth.Identity{}, nil
	}
	id, err := auth.FromCertificate(cs.PeerCertificates[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRejected, err)
	}
	return id, nil
}

// checkDialedIdentity checks the certificate of the endpoint dialed at
// addr: one that names a chain role must list addr among its addresses,
// whole (host and port), so that another process of the same host cannot
// answer for it. A certificate without a role has had only its host
// checked, by the TLS handshake, and the receivers allow it nothing.
func checkDialedIdentity(addr string, id *auth.Identity) error {
	if id == nil || id.Role == "" || id.HasAddr(addr) {
		return nil
	}
	return fmt.Errorf("%w: %s answered at %s, which its certificate does not list", errRejected, id, addr)
}
