package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
)

const certsHelp = `usage:
  chainctl certs init [-days N] DIR
      make a certificate authority: DIR/ca.pem (give it to every process as -tls-ca)
      and DIR/ca-key.pem (keep it secret; only certs issue reads it)
  chainctl certs issue [-days N] DIR ROLE NAME [HOST:PORT...]
      make DIR/ROLE-NAME.pem and DIR/ROLE-NAME-key.pem, signed by DIR's CA, for the
      identity chain://ROLE/NAME that may listen at each HOST:PORT (give them as
      -tls-cert and -tls-key). ROLE is node (NAME its -id), master, server (NAME its
      -server id), client or admin (these two listen nowhere: no address).
      Spell each address exactly as the configuration does (-members, -master, -listen).
Existing files are never overwritten. -days defaults to 365.`

// runCerts runs chainctl certs: it makes a test or small deployment's CA
// and per-role certificates with crypto/x509 (see package auth for what
// they carry).
func runCerts(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chainctl certs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	days := fs.Int("days", 365, "validity in days")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, certsHelp)
		}
		return err
	}
	words := fs.Args()
	if len(words) > 1 {
		// Flags may follow the subcommand: chainctl certs init -days 30 DIR.
		if err := fs.Parse(words[1:]); err != nil {
			return err
		}
		words = append([]string{words[0]}, fs.Args()...)
	}
	if *days < 1 {
		return fmt.Errorf("certs: -days %d: must be at least 1", *days)
	}
	validFor := time.Duration(*days) * 24 * time.Hour
	switch {
	case len(words) == 2 && words[0] == "init":
		return certsInit(words[1], validFor, out)
	case len(words) >= 4 && words[0] == "issue":
		return certsIssue(words[1], auth.Role(words[2]), words[3], words[4:], validFor, out)
	default:
		return fmt.Errorf("%w: chainctl certs init DIR, or chainctl certs issue DIR ROLE NAME [HOST:PORT...] (chainctl certs -h)", errUsage)
	}
}

func certsInit(dir string, validFor time.Duration, out io.Writer) error {
	ca, err := pki.NewCA("chain CA", validFor)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := ca.WriteFiles(dir, true); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	fmt.Fprintf(out, "wrote %s and %s\n", filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	return nil
}

func certsIssue(dir string, role auth.Role, name string, addrs []string, validFor time.Duration, out io.Writer) error {
	if !role.Valid() {
		return fmt.Errorf("certs: unknown role %q: one of node, master, server, client, admin", role)
	}
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("certs: name %q: must be non-empty, without / or \\, and not start with a dot", name)
	}
	if (role == auth.RoleClient || role == auth.RoleAdmin) && len(addrs) > 0 {
		return fmt.Errorf("certs: a %s listens nowhere: give no address", role)
	}
	if (role == auth.RoleNode || role == auth.RoleMaster || role == auth.RoleServer) && len(addrs) == 0 {
		return fmt.Errorf("certs: a %s needs the address it listens at (HOST:PORT, as the configuration spells it)", role)
	}
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return fmt.Errorf("certs: read the CA (chainctl certs init %s makes it): %w", dir, err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		return fmt.Errorf("certs: read the CA key: %w", err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM)
	if err != nil {
		return err
	}
	base, err := ca.IssueFiles(dir, role, name, validFor, true, addrs...)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	fmt.Fprintf(out, "wrote %s.pem and %s-key.pem for %s\n", base, base, auth.URI(role, name))
	return nil
}
