package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/tlsreload"
)

// tlsReloadInterval is how often chaind looks at its -tls-* files for
// new contents.
const tlsReloadInterval = 5 * time.Second

// chaindTLS is chaind's TLS material: nil without -tls-*. Server is the
// config to accept with, and Client the config of each dial; both follow
// the files, which chaind reloads on SIGHUP and when their contents
// change.
type chaindTLS struct {
	Server *tls.Config
	Client func() *tls.Config
}

// startTLS loads the -tls-* files, checks that the certificate names what
// the flags make chaind, and reloads them on SIGHUP and every interval
// when they changed, until ctx ends. It returns nil without -tls-*.
func startTLS(ctx context.Context, f flags, interval time.Duration, logger *slog.Logger) (*chaindTLS, error) {
	files := flagvalue.TLSFiles{Cert: f.tlsCert, Key: f.tlsKey, CA: f.tlsCA}
	if !files.Enabled() {
		return nil, nil
	}
	check, err := ownCertificateCheck(f)
	if err != nil {
		return nil, err
	}
	r, err := tlsreload.New(files, check, logger)
	if err != nil {
		return nil, err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		r.Run(ctx, interval, hup)
	}()
	return &chaindTLS{Server: r.Config(), Client: r.ClientConfig}, nil
}

// server returns the config to accept with; nil without TLS.
func (t *chaindTLS) server() *tls.Config {
	if t == nil {
		return nil
	}
	return t.Server
}

// client returns the function that gives each dial's config; nil
// without TLS.
func (t *chaindTLS) client() func() *tls.Config {
	if t == nil {
		return nil
	}
	return t.Client
}
