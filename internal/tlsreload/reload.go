// Package tlsreload serves a process's TLS certificate, key and CA from
// their files, reloading them without a restart: on request (chaind
// reloads on SIGHUP) and when their contents change. New handshakes use
// the files as last loaded; connections already open keep the
// certificates they were made with. A reload that fails (a file missing,
// malformed, half written, a key that does not match its certificate, or
// a certificate Check refuses) keeps what was loaded before and is logged.
package tlsreload

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/internal/flagvalue"
)

// DefaultInterval is how often Run looks at the files when given no
// interval.
const DefaultInterval = 5 * time.Second

// material is one load of the files; read only once published.
type material struct {
	cert   *tls.Certificate
	pool   *x509.CertPool
	config *tls.Config // flagvalue.MutualTLS of cert and pool
}

// Reloader holds the TLS material of a set of files, and reloads it. It
// is safe for concurrent use.
type Reloader struct {
	files flagvalue.TLSFiles
	check func(*tls.Certificate) error
	log   *slog.Logger
	cur   atomic.Pointer[material]

	mu   sync.Mutex // serializes Reload
	seen [sha256.Size]byte
	// loaded counts successful loads after the first; failed, failed
	// reloads.
	loaded, failed atomic.Uint64
}

// New loads files and returns their Reloader. check, if not nil, is
// called on every certificate loaded (the first included): an error
// refuses it (chaind checks that the certificate still names its role,
// name and addresses). log receives reloads and their failures; nil
// discards them.
func New(files flagvalue.TLSFiles, check func(*tls.Certificate) error, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{files: files, check: check, log: log}
	sum, err := r.fingerprint()
	if err != nil {
		return nil, err
	}
	m, err := r.load()
	if err != nil {
		return nil, err
	}
	r.seen = sum
	r.cur.Store(m)
	return r, nil
}

// load reads and checks the files.
func (r *Reloader) load() (*material, error) {
	cert, pool, err := r.files.Load()
	if err != nil {
		return nil, err
	}
	if r.check != nil {
		if err := r.check(&cert); err != nil {
			return nil, err
		}
	}
	return &material{cert: &cert, pool: pool, config: flagvalue.MutualTLS(cert, pool)}, nil
}

// fingerprint hashes the files' contents.
func (r *Reloader) fingerprint() ([sha256.Size]byte, error) {
	h := sha256.New()
	for _, name := range []string{r.files.Cert, r.files.Key, r.files.CA} {
		b, err := os.ReadFile(name)
		if err != nil {
			return [sha256.Size]byte{}, fmt.Errorf("tls: %w", err)
		}
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, nil
}

// Reload loads the files again and, if they load, makes them what new
// handshakes use, and logs it. If they do not, it keeps what was loaded
// before, logs the error (once for the same contents) and returns it.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(true)
}

// reloadLocked is Reload; logSame false skips files whose contents were
// seen already (loaded, or refused and logged).
func (r *Reloader) reloadLocked(logSame bool) error {
	sum, err := r.fingerprint()
	if err == nil && sum == r.seen && !logSame {
		return nil
	}
	if err == nil {
		r.seen = sum
		var m *material
		if m, err = r.load(); err == nil {
			r.cur.Store(m)
			r.loaded.Add(1)
			r.log.Info("tls: reloaded certificate, key and CA: new connections use them",
				"cert", r.files.Cert, "subject", describe(m.cert))
			return nil
		}
	}
	r.failed.Add(1)
	r.log.Error("tls: reload failed: still serving the certificate loaded before",
		"cert", r.files.Cert, "key", r.files.Key, "ca", r.files.CA, "serving", describe(r.cur.Load().cert), "err", err)
	return fmt.Errorf("tls reload: %w", err)
}

// poll reloads the files if their contents changed since last seen.
func (r *Reloader) poll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sum, err := r.fingerprint(); err == nil && sum == r.seen {
		return
	}
	_ = r.reloadLocked(false)
}

// Run reloads on every value from signals (nil: none) and, every
// interval (zero: DefaultInterval), when the files' contents changed,
// until ctx is done. A file that cannot be read while it is being
// replaced is tried again at the next interval.
func (r *Reloader) Run(ctx context.Context, interval time.Duration, signals <-chan os.Signal) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-signals:
			_ = r.Reload()
		case <-t.C:
			r.poll()
		}
	}
}

// Stats returns the number of reloads that took effect and that failed.
func (r *Reloader) Stats() (loaded, failed uint64) { return r.loaded.Load(), r.failed.Load() }

// Certificate returns the certificate new handshakes present.
func (r *Reloader) Certificate() *tls.Certificate { return r.cur.Load().cert }

// Config returns a mutual-TLS configuration that follows the files: on
// the server side (GetConfigForClient), every handshake presents the
// certificate and verifies the client against the CA last loaded; on the
// client side, it presents the certificate last loaded
// (GetClientCertificate), but verifies the server against the RootCAs of
// the first load, since a tls.Config cannot look its RootCAs up per
// handshake: a dialer that can take a config per dial uses ClientConfig
// instead.
func (r *Reloader) Config() *tls.Config {
	first := r.cur.Load()
	cfg := first.config.Clone()
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.Certificate(), nil }
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return r.Certificate(), nil
	}
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.cur.Load().config, nil }
	return cfg
}

// ClientConfig returns the configuration to dial with now: the
// certificate and CA last loaded. The caller may modify the copy it gets.
func (r *Reloader) ClientConfig() *tls.Config { return r.cur.Load().config.Clone() }

// describe names a certificate in a log line.
func describe(c *tls.Certificate) string {
	if c == nil || c.Leaf == nil {
		return "(unknown)"
	}
	s := c.Leaf.Subject.String()
	for _, u := range c.Leaf.URIs {
		s += " " + u.String()
	}
	return s + " until " + c.Leaf.NotAfter.UTC().Format(time.RFC3339)
}
