// Command chaind runs chain nodes.
//
// With no flags it starts a local 3-node chain in one process, on loopback
// TCP ports 7001-7003 and in memory, and prints how to reach it:
//
//	chaind
//	chaind -data /tmp/chain            # the same, durable on Pebble
//
// With -id it runs one node of a chain whose members are listed head first:
//
//	chaind -id n1 -members n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 -data /var/lib/chain
//
// Every node runs the key-value store of examples/kv (commands kv.put,
// kv.delete, kv.cas; queries kv.get, kv.len) besides raw appends. SIGINT or
// SIGTERM stops it cleanly: the nodes close and the storage is flushed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chaind:", err)
		os.Exit(1)
	}
}

// flags are chaind's command line.
type flags struct {
	id, members, data      string
	epoch                  uint64
	nodes, port            int
	noSync                 bool
	logLevel               string
	tlsCert, tlsKey, tlsCA string
}

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("chaind", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.id, "id", "", "run the one node with this id (needs -members); without it, run a local chain")
	fs.StringVar(&f.members, "members", "", "the chain's members, head first: id=host:port,...")
	fs.StringVar(&f.data, "data", "", "keep each node's log on Pebble under this directory (default: in memory)")
	fs.Uint64Var(&f.epoch, "epoch", 1, "the configuration epoch")
	fs.IntVar(&f.nodes, "nodes", 3, "local chain: number of nodes")
	fs.IntVar(&f.port, "port", 7001, "local chain: first port; node i listens on port+i-1")
	fs.BoolVar(&f.noSync, "nosync", false, "do not fsync Pebble writes (acknowledged writes may be lost on a machine crash; benchmarks only)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate for mutual TLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for mutual TLS")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA certificate that signs every node's and client's certificate")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.id != "" && f.members == "" {
		return f, errors.New("-id needs -members")
	}
	if f.nodes < 1 || f.port < 1 || f.port+f.nodes > 65536 {
		return f, errors.New("-nodes and -port must give ports within 1-65535")
	}
	return f, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
