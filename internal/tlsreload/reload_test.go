package tlsreload

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/internal/testutil"
)

// writeFiles writes leaf's certificate and key and the CAs' certificates
// (one file, concatenated) where files names them.
func writeFiles(t *testing.T, files flagvalue.TLSFiles, leaf *pki.Leaf, cas ...*pki.CA) {
	t.Helper()
	key, err := pki.KeyPEM(leaf.Key)
	require.NoError(t, err)
	var bundle []byte
	for _, ca := range cas {
		bundle = append(bundle, pki.CertPEM(ca.Cert)...)
	}
	require.NoError(t, os.WriteFile(files.Cert, pki.CertPEM(leaf.Cert), 0o600))
	require.NoError(t, os.WriteFile(files.Key, key, 0o600))
	require.NoError(t, os.WriteFile(files.CA, bundle, 0o600))
}

func newFiles(t *testing.T) flagvalue.TLSFiles {
	dir := t.TempDir()
	return flagvalue.TLSFiles{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CA: filepath.Join(dir, "ca.pem")}
}

// echoServer accepts TLS connections with cfg and echoes what they send,
// until the test ends.
func echoServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// dial completes a handshake with the server at addr and returns the
// connection and the serial of the certificate the server presented.
func dial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, string) {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	c, err := tls.Dial("tcp", addr, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Handshake())
	// A TLS 1.3 server verifies the client's certificate after the
	// client's handshake is done: one round trip shows it accepted it.
	echo(t, c)
	return c, c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// echo checks that c still carries bytes both ways.
func echo(t *testing.T, c *tls.Conn) {
	t.Helper()
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	require.Equal(t, "ping", string(buf))
}

// TestRotationToANewCA: a server whose files are replaced by a leaf of a
// new CA (the CA file carrying both CAs for the changeover) presents the
// new leaf to new connections once reloaded, while a connection opened
// before keeps working; a client of the old CA only is then refused, and
// a dialer's ClientConfig trusts the new CA.
func TestRotationToANewCA(t *testing.T) {
	oldCA, err := pki.NewCA("old CA", time.Hour)
	require.NoError(t, err)
	newCA, err := pki.NewCA("new CA", time.Hour)
	require.NoError(t, err)
	leaf1, err := oldCA.Issue(auth.RoleNode, "n1", time.Hour, "127.0.0.1:7001")
	require.NoError(t, err)
	leaf2, err := newCA.Issue(auth.RoleNode, "n1", time.Hour, "127.0.0.1:7001")
	require.NoError(t, err)
	clientLeaf, err := oldCA.Issue(auth.RoleClient, "app", time.Hour)
	require.NoError(t, err)

	files := newFiles(t)
	writeFiles(t, files, leaf1, oldCA)
	r, err := New(files, nil, nil)
	require.NoError(t, err)
	addr := echoServer(t, r.Config())

	both := pki.MutualTLS(oldCA, clientLeaf)
	both.RootCAs.AddCert(newCA.Cert)
	before, serial := dial(t, addr, both)
	defer before.Close()
	require.Equal(t, leaf1.Cert.SerialNumber.String(), serial)

	writeFiles(t, files, leaf2, oldCA, newCA)
	r.poll() // the contents changed: reloaded
	loaded, failed := r.Stats()
	require.Equal(t, [2]uint64{1, 0}, [2]uint64{loaded, failed})

	after, serial := dial(t, addr, both)
	defer after.Close()
	require.Equal(t, leaf2.Cert.SerialNumber.String(), serial, "a new connection got the old certificate")
	echo(t, before) // the connection opened before is not affected

	oldOnly := pki.MutualTLS(oldCA, clientLeaf)
	oldOnly.ServerName = "127.0.0.1"
	_, err = tls.Dial("tcp", addr, oldOnly)
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown, "a client trusting only the old CA accepted the new leaf")

	// The dialer's side: a server of the new CA verifies against
	// ClientConfig, which carries the new CA, and the new leaf.
	serverLeaf, err := newCA.Issue(auth.RoleNode, "n2", time.Hour, "127.0.0.1:7002")
	require.NoError(t, err)
	srv := pki.MutualTLS(newCA, serverLeaf)
	srv.ClientCAs = r.ClientConfig().RootCAs // both CAs
	c, serial := dial(t, echoServer(t, srv), r.ClientConfig())
	defer c.Close()
	require.Equal(t, serverLeaf.Cert.SerialNumber.String(), serial)
}

// TestBrokenFilesKeepServing: a reload of a malformed certificate, of a
// key that is not the certificate's, of an empty CA file, or of a
// certificate the check refuses fails with a logged error, and new
// connections still get the certificate loaded before; so does a poll of
// the same broken contents, which logs nothing more.
func TestBrokenFilesKeepServing(t *testing.T) {
	ca, err := pki.NewCA("CA", time.Hour)
	require.NoError(t, err)
	leaf1, err := ca.Issue(auth.RoleNode, "n1", time.Hour, "127.0.0.1:7001")
	require.NoError(t, err)
	other, err := ca.Issue(auth.RoleNode, "n1", time.Hour, "127.0.0.1:7001")
	require.NoError(t, err)
	wrongName, err := ca.Issue(auth.RoleNode, "n9", time.Hour, "127.0.0.1:7001")
	require.NoError(t, err)
	clientLeaf, err := ca.Issue(auth.RoleClient, "app", time.Hour)
	require.NoError(t, err)

	files := newFiles(t)
	writeFiles(t, files, leaf1, ca)
	var logs testutil.SyncBuffer
	check := func(c *tls.Certificate) error {
		id, err := auth.FromCertificate(c.Leaf)
		if err != nil {
			return err
		}
		if id.Name != "n1" {
			return errors.New("not n1's certificate")
		}
		return nil
	}
	r, err := New(files, check, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	addr := echoServer(t, r.Config())
	client := pki.MutualTLS(ca, clientLeaf)

	otherKey, err := pki.KeyPEM(other.Key)
	require.NoError(t, err)
	breakages := []struct {
		name  string
		write func()
		want  string
	}{
		{"malformed certificate", func() { require.NoError(t, os.WriteFile(files.Cert, []byte("-----BEGIN CERT"), 0o600)) }, "load key pair"},
		{"key of another certificate", func() {
			writeFiles(t, files, leaf1, ca)
			require.NoError(t, os.WriteFile(files.Key, otherKey, 0o600))
		}, "private key does not match"},
		{"empty CA file", func() {
			writeFiles(t, files, leaf1, ca)
			require.NoError(t, os.WriteFile(files.CA, nil, 0o600))
		}, "no certificate in"},
		{"certificate the check refuses", func() { writeFiles(t, files, wrongName, ca) }, "not n1's certificate"},
		{"missing key file", func() { require.NoError(t, os.Remove(files.Key)) }, "no such file"},
	}
	for i, b := range breakages {
		b.write()
		err := r.Reload()
		require.ErrorContains(t, err, b.want, b.name)
		_, failed := r.Stats()
		require.Equal(t, uint64(i+1), failed, b.name)
		require.Contains(t, logs.String(), "tls: reload failed: still serving the certificate loaded before", b.name)
		c, serial := dial(t, addr, client)
		_ = c.Close()
		require.Equal(t, leaf1.Cert.SerialNumber.String(), serial, "%s: the broken files replaced the certificate", b.name)
	}
	// Polling the same broken contents does not retry and log them again
	// (the missing file fails to read, and is retried: it may be being
	// replaced).
	writeFiles(t, files, wrongName, ca)
	require.Error(t, r.Reload())
	lines := bytes.Count([]byte(logs.String()), []byte("reload failed"))
	r.poll()
	require.Equal(t, lines, bytes.Count([]byte(logs.String()), []byte("reload failed")), "the same broken files logged again")

	// Fixed files load.
	writeFiles(t, files, other, ca)
	r.poll()
	loaded, _ := r.Stats()
	require.Equal(t, uint64(1), loaded)
	c, serial := dial(t, addr, client)
	_ = c.Close()
	require.Equal(t, other.Cert.SerialNumber.String(), serial)
}

// TestRunReloadsOnSignal: Run reloads when its signal channel delivers,
// and stops when its context ends.
func TestRunReloadsOnSignal(t *testing.T) {
	ca, err := pki.NewCA("CA", time.Hour)
	require.NoError(t, err)
	leaf1, err := ca.Issue(auth.RoleNode, "n1", time.Hour)
	require.NoError(t, err)
	leaf2, err := ca.Issue(auth.RoleNode, "n1", time.Hour)
	require.NoError(t, err)
	files := newFiles(t)
	writeFiles(t, files, leaf1, ca)
	r, err := New(files, nil, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	sig := make(chan os.Signal)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, time.Hour, sig) // no poll within the test: only the signal reloads
	}()
	writeFiles(t, files, leaf2, ca)
	sig <- os.Interrupt // unbuffered: Run has taken it
	sig <- os.Interrupt // ... and finished the reload it started
	cancel()
	<-done
	require.True(t, r.Certificate().Leaf.Equal(leaf2.Cert), "the signal did not reload")
}

// New refuses files that do not load.
func TestNewRefusesBrokenFiles(t *testing.T) {
	_, err := New(newFiles(t), nil, nil)
	require.ErrorContains(t, err, "no such file")
}
