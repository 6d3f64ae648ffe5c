// Package pki makes a certificate authority and the per-role certificates
// of a chain deployment (see package auth for what they carry), with
// crypto/x509 only. Tests use it to run mutual TLS, and chainctl certs to
// write the files chaind and chainctl load.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"

	"github.com/chainrep/chain/auth"
)

// CA is a certificate authority: its certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA named name, valid from an hour ago for
// validFor.
func NewCA(name string, validFor time.Duration) (*CA, error) {
	cert, key, err := create(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, validFor, nil, "CA certificate")
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads a CA from the PEM of its certificate and of its key (as
// CertPEM and KeyPEM write them).
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: load CA: %w", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("pki: load CA: %w", err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || !cert.IsCA {
		return nil, errors.New("pki: load CA: not an ECDSA CA certificate and key")
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Pool returns a pool holding the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Leaf is an issued certificate and its key.
type Leaf struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// TLS returns the leaf as a tls.Certificate.
func (l *Leaf) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}
}

// Issue makes a certificate for the identity chain://role/name that may
// claim addrs (host:port each, as the configuration spells them; see
// package auth), valid from an hour ago for validFor. Each address's host
// also goes in as an IP or DNS SAN, which is what a peer dialling it
// checks during the TLS handshake. The certificate serves both as a
// server's and as a client's.
func (ca *CA) Issue(role auth.Role, name string, validFor time.Duration, addrs ...string) (*Leaf, error) {
	if !role.Valid() {
		return nil, fmt.Errorf("pki: unknown role %q (one of %v)", role, auth.Roles())
	}
	if name == "" {
		return nil, errors.New("pki: empty name")
	}
	uris := []*url.URL{auth.URI(role, name)}
	var ips []net.IP
	var dns []string
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("pki: address %q: %w", a, err)
		}
		uris = append(uris, auth.AddrURI(a))
		if ip := net.ParseIP(host); ip != nil {
			ips = append(ips, ip)
		} else if host != "" {
			dns = append(dns, host)
		}
	}
	return ca.issue(pkix.Name{CommonName: auth.URI(role, name).String()}, uris, ips, dns, validFor)
}

// IssueRaw makes a certificate with exactly the given SANs: for tests of
// certificates that carry no identity, or a wrong one.
func (ca *CA) IssueRaw(uris []*url.URL, ips []net.IP, dns []string, validFor time.Duration) (*Leaf, error) {
	return ca.IssueNamed("chain test certificate", uris, ips, dns, validFor)
}

// IssueNamed is IssueRaw with the common name cn: for tests of checks
// that read the common name.
func (ca *CA) IssueNamed(cn string, uris []*url.URL, ips []net.IP, dns []string, validFor time.Duration) (*Leaf, error) {
	return ca.issue(pkix.Name{CommonName: cn}, uris, ips, dns, validFor)
}

func (ca *CA) issue(subject pkix.Name, uris []*url.URL, ips []net.IP, dns []string, validFor time.Duration) (*Leaf, error) {
	cert, key, err := create(&x509.Certificate{
		Subject:     subject,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        uris,
		IPAddresses: ips,
		DNSNames:    dns,
	}, validFor, ca, "certificate")
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// create makes the certificate tmpl describes, with a new key and serial
// number, valid from an hour ago for validFor, signed by parent (by its
// own key when parent is nil: a self-signed CA). what names it in errors.
func create(tmpl *x509.Certificate, validFor time.Duration, parent *CA, what string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: key of the %s: %w", what, err)
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(validFor)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", what, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", what, err)
	}
	return cert, key, nil
}

// MutualTLS returns the mutual-TLS configuration of a peer presenting
// leaf and trusting ca, the same as chaind's -tls-* flags make.
func MutualTLS(ca *CA, leaf *Leaf) *tls.Config {
	pool := ca.Pool()
	return &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS()},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// CertPEM encodes a certificate as PEM.
func CertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// KeyPEM encodes a private key as PKCS #8 PEM.
func KeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return s, nil
}
