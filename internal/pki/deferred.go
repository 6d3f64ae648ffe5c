package pki

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
)

// Deferred holds a certificate issued after its holder's transport is
// configured: a test listening on port 0 learns its address, and so what
// its certificate must list, only after the transport exists. Until Set,
// handshakes that need the certificate fail.
type Deferred struct {
	leaf atomic.Pointer[Leaf]
}

// Set makes l the certificate presented from now on.
func (d *Deferred) Set(l *Leaf) { d.leaf.Store(l) }

func (d *Deferred) get() (*tls.Certificate, error) {
	l := d.leaf.Load()
	if l == nil {
		return nil, errors.New("pki: no certificate yet")
	}
	c := l.TLS()
	return &c, nil
}

// MutualTLSDeferred is MutualTLS with the certificate d holds at each
// handshake.
func MutualTLSDeferred(ca *CA, d *Deferred) *tls.Config {
	pool := ca.Pool()
	return &tls.Config{
		GetCertificate:       func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return d.get() },
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return d.get() },
		RootCAs:              pool,
		ClientCAs:            pool,
		ClientAuth:           tls.RequireAndVerifyClientCert,
		MinVersion:           tls.VersionTLS13,
	}
}
