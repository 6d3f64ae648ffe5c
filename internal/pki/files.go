package pki

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chainrep/chain/auth"
)

// IssueFiles issues a certificate for chain://role/name that may claim
// addrs (see Issue) and writes its key to dir/ROLE-NAME-key.pem (mode
// 0600) and then the certificate to dir/ROLE-NAME.pem (mode 0644), the
// names chainctl certs gives them. It returns dir/ROLE-NAME. With
// exclusive, a file that exists already is an error and is left as it
// is.
func (ca *CA) IssueFiles(dir string, role auth.Role, name string, validFor time.Duration, exclusive bool, addrs ...string) (string, error) {
	leaf, err := ca.Issue(role, name, validFor, addrs...)
	if err != nil {
		return "", err
	}
	key, err := KeyPEM(leaf.Key)
	if err != nil {
		return "", err
	}
	base := filepath.Join(dir, string(role)+"-"+name)
	if err := writeFile(base+"-key.pem", key, 0o600, exclusive); err != nil {
		return "", err
	}
	if err := writeFile(base+".pem", CertPEM(leaf.Cert), 0o644, exclusive); err != nil {
		return "", err
	}
	return base, nil
}

// WriteFiles writes the CA's key to dir/ca-key.pem (mode 0600) and then
// its certificate to dir/ca.pem (mode 0644), the names chainctl certs
// gives them. With exclusive, a file that exists already is an error and
// is left as it is.
func (ca *CA) WriteFiles(dir string, exclusive bool) error {
	key, err := KeyPEM(ca.Key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "ca-key.pem"), key, 0o600, exclusive); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "ca.pem"), CertPEM(ca.Cert), 0o644, exclusive)
}

// writeFile writes data to path with perm; with exclusive, path must not
// exist yet.
func writeFile(path string, data []byte, perm os.FileMode, exclusive bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if exclusive {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, perm)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return nil
}
