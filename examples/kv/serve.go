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

// The HTTP server's timeouts: a request's header, and its whole body
// (the handler's own read deadline is the request timeout; ReadTimeout
// covers what the handler does not read), and an idle keep-alive
// connection.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = time.Minute
)

// serve serves the HTTP API of client on ln until ctx ends, then shuts the
// server down gracefully. It fails if the server stops on its own.
func serve(ctx context.Context, out io.Writer, logger *slog.Logger, ln net.Listener, client *kv.Client) error {
	srv := &http.Server{
		Handler:           kv.NewHTTPHandler(client, kv.WithLogger(logger)),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
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
	err := srv.Shutdown(shutdownCtx)
	if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("serve http: shutdown: %w", err)
	}
	return nil
}
