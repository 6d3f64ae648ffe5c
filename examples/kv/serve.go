package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/chainrep/chain/kv"
)

// shutdownTimeout bounds waiting for in-flight HTTP requests at shutdown.
const shutdownTimeout = 5 * time.Second

// serve serves the HTTP API of client on addr until ctx ends, then shuts the
// server down gracefully. It fails if addr cannot be bound or the server
// stops on its own.
func serve(ctx context.Context, out io.Writer, logger *slog.Logger, addr string, client *kv.Client) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve http: %w", err)
	}
	srv := &http.Server{
		Handler:           kv.NewHTTPHandler(client, kv.WithLogger(logger)),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(out, "serving HTTP API on http://%s/kv/{key} (Ctrl-C to stop)\n", ln.Addr())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("serve http: shutdown: %w", err)
	}
	return nil
}
