// Command kv runs a replicated key-value store in one process: a chain of
// three nodes (n1 -> n2 -> n3) on the in-memory transport with memory
// storage, each applying commands to its own kv.Store. The chain is
// started by internal/launch.StartChain, the starter the programs share:
// it creates each node (chain.NewNode), registers a kv.Store on it,
// starts it, and opens a chain.Client with a kv.Client over it.
//
// With no flags it writes and reads a few keys, prints each step, checks
// that every replica holds the same data, shuts down and exits 0:
//
//	go run ./examples/kv
//
// With -data DIR the nodes keep their logs durably on Pebble; run it again
// on the same directory and the keys are recovered:
//
//	go run ./examples/kv -data /tmp/kv
//
// With -http it binds the address first (a port in use fails before the
// demo), then serves the HTTP API of kv.NewHTTPHandler until SIGINT or
// SIGTERM:
//
//	go run ./examples/kv -http 127.0.0.1:8080
//	curl -X PUT --data-binary hello 127.0.0.1:8080/kv/greeting
//	curl 127.0.0.1:8080/kv/greeting
//
// On failure it logs one line to stderr and exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
)

// startTimeout bounds starting the chain; demoTimeout bounds the scripted
// operations.
const (
	startTimeout = 5 * time.Second
	demoTimeout  = 10 * time.Second
)

func main() {
	httpAddr := flag.String("http", "", "after the demo, serve the HTTP API on `addr` (e.g. 127.0.0.1:8080) until SIGINT/SIGTERM")
	dataDir := flag.String("data", "", "keep each node's log durably on Pebble under `dir` (default: in memory)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, logger, *dataDir, *httpAddr)
	stop()
	if err != nil {
		logger.Error("kv example failed", "err", err)
		os.Exit(1)
	}
}

// run starts the chain, runs the demo, serves HTTP on httpAddr (if not
// empty) until ctx ends, and closes everything. It writes progress to out.
func run(ctx context.Context, out io.Writer, logger *slog.Logger, dataDir, httpAddr string) (err error) {
	// Bind the HTTP port first: a port in use fails at once, before the
	// demo writes anything.
	var ln net.Listener
	if httpAddr != "" {
		if ln, err = net.Listen("tcp", httpAddr); err != nil {
			return fmt.Errorf("serve http: %w", err)
		}
		defer ln.Close() // serve closes it too; a second close is harmless
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cl, err := launch.StartChain(startCtx, launch.ChainConfig{
		Config: launch.InmemConfig("n1", "n2", "n3"), DataDir: dataDir, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		closeErr := cl.Close()
		if closeErr == nil {
			fmt.Fprintln(out, "closed the client, the nodes and the network")
		}
		err = errors.Join(err, closeErr)
	}()
	fmt.Fprintf(out, "started chain %s (epoch %d)\n", describe(cl.Config), cl.Config.Epoch)
	if dataDir != "" {
		if _, err := cl.WaitConverged(startCtx); err != nil {
			return err
		}
		fmt.Fprintf(out, "on Pebble under %s: recovered %d keys\n", dataDir, cl.Nodes[len(cl.Nodes)-1].Store.Len())
	}

	demoCtx, cancelDemo := context.WithTimeout(ctx, demoTimeout)
	defer cancelDemo()
	if err := demo(demoCtx, out, cl); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if ln == nil {
		return nil
	}
	return serve(ctx, out, logger, ln, cl.KV)
}

// describe renders the chain order, head first.
func describe(cfg chain.Config) string {
	s := ""
	for i, m := range cfg.Members {
		if i > 0 {
			s += " -> "
		}
		s += m.ID
	}
	return s
}
