package flagvalue

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSFiles names the PEM files of a node's or client's TLS identity.
type TLSFiles struct {
	Cert, Key, CA string
}

// Enabled reports whether any TLS file is named.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// Load reads the files: the key pair (with its leaf parsed) and the pool
// of the CA file's certificates. It fails if a file is missing or
// malformed, the key does not match the certificate, or the CA file holds
// no certificate.
func (f TLSFiles) Load() (tls.Certificate, *x509.CertPool, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return tls.Certificate{}, nil, fmt.Errorf("tls: need a certificate, a key and a CA file together")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tls: load key pair %s, %s: %w", f.Cert, f.Key, err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tls: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tls.Certificate{}, nil, fmt.Errorf("tls: no certificate in %s", f.CA)
	}
	return cert, pool, nil
}

// MutualTLS returns the mutual-TLS configuration of a certificate and a
// CA pool: the certificate for both sides, the pool to verify peers with,
// and client certificates required.
func MutualTLS(cert tls.Certificate, pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// Config loads the files into a mutual-TLS configuration (see Load and
// MutualTLS). It returns nil when no file is named.
func (f TLSFiles) Config() (*tls.Config, error) {
	if !f.Enabled() {
		return nil, nil
	}
	cert, pool, err := f.Load()
	if err != nil {
		return nil, err
	}
	return MutualTLS(cert, pool), nil
}
