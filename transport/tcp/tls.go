package tcp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/chainrep/chain/auth"
)

// errRejected marks a peer refused by verification.
var errRejected = errors.New("peer rejected")

// clientTLSConfig returns the config for dialing addr: a clone of cfg whose
// ServerName, if empty, is the host of addr, so that the server's
// certificate is checked against the address dialed.
func clientTLSConfig(cfg *tls.Config, addr string) *tls.Config {
	c := cfg.Clone()
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = host
		}
	}
	return c
}

// dialTLS returns the config to dial with now (see Options.ClientTLS).
func (o *Options) dialTLS() *tls.Config {
	if o.ClientTLS != nil {
		if c := o.ClientTLS(); c != nil {
			return c
		}
	}
	return o.TLS
}

// DefaultVerifyPeer is the check applied to a TLS peer's hello when
// Options.VerifyPeer is nil. Its contract:
//
//   - A peer claiming a client address (see IsClientAddr) is accepted: such
//     an address is random and names no host, so there is nothing to check
//     it against; the certificate requirements are those of the server
//     config's ClientAuth.
//   - A peer claiming host:port must have presented a certificate that
//     verified against the config's ClientCAs (so ClientAuth must be
//     tls.VerifyClientCertIfGiven or tls.RequireAndVerifyClientCert).
//   - If the certificate names a chain identity (a chain://ROLE/NAME URI
//     SAN, see package auth), the claimed address must be one of its
//     chain-addr://HOST:PORT addresses, compared whole: a process of the
//     same host with another certificate cannot claim it. A malformed
//     identity is refused.
//   - A certificate without a chain identity must cover the claimed host
//     in its DNS or IP SANs (the host only: such a certificate is
//     authenticated, but receivers allow it no role's messages).
//
// A peer therefore cannot claim another node's address, and replies meant
// for that node are never sent to it. A custom VerifyPeer may call
// DefaultVerifyPeer and add checks of its own.
func DefaultVerifyPeer(claimedAddr string, cs tls.ConnectionState) error {
	if IsClientAddr(claimedAddr) {
		return nil
	}
	host, _, err := net.SplitHostPort(claimedAddr)
	if err != nil {
		return fmt.Errorf("%w: claimed address %q: %v", errRejected, claimedAddr, err)
	}
	if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no verified certificate for claimed address %q", errRejected, claimedAddr)
	}
	id, err := auth.FromCertificate(cs.PeerCertificates[0])
	if err != nil {
		return fmt.Errorf("%w: %w", errRejected, err)
	}
	if id.Role != "" {
		if !id.HasAddr(claimedAddr) {
			return fmt.Errorf("%w: certificate of %s does not list claimed address %q", errRejected, id, claimedAddr)
		}
		return nil
	}
	if err := cs.PeerCertificates[0].VerifyHostname(host); err != nil {
		return fmt.Errorf("%w: certificate does not cover claimed address %q: %v", errRejected, claimedAddr, err)
	}
	return nil
}
