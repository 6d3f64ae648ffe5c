package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/cluster"
	"github.com/chainrep/chain/transport/tcp"
)

// run starts the nodes the flags ask for and serves until ctx ends.
func run(ctx context.Context, args []string, out io.Writer) error {
	f, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	logger, err := newLogger(f.logLevel, os.Stderr)
	if err != nil {
		return err
	}
	tlsConfig, err := cluster.TLSFiles{Cert: f.tlsCert, Key: f.tlsKey, CA: f.tlsCA}.Config()
	if err != nil {
		return err
	}
	cfg := chain.Config{Epoch: f.epoch, Members: cluster.LocalMembers(f.nodes, f.port)}
	ids := make([]string, 0, len(cfg.Members))
	if f.id != "" {
		if cfg.Members, err = cluster.ParseMembers(f.members); err != nil {
			return err
		}
		ids = append(ids, f.id)
	} else {
		for _, m := range cfg.Members {
			ids = append(ids, m.ID)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	tr := tcp.New(tcp.Options{TLS: tlsConfig, Logger: logger})
	defer tr.Close()
	var nodes []*cluster.Node
	defer func() {
		for _, n := range nodes {
			if err := n.Close(); err != nil {
				logger.Error("close node", "node", n.ID(), "err", err)
			}
		}
	}()
	for _, id := range ids {
		n, err := cluster.StartNode(ctx, cluster.NodeConfig{
			ID: id, Config: cfg, Transport: tr, DataDir: f.data, NoSync: f.noSync, Logger: logger,
		})
		if err != nil {
			return fmt.Errorf("start node %s: %w", id, err)
		}
		nodes = append(nodes, n)
	}
	printReady(out, cfg, ids, f)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "shutting down")
		return nil
	case err := <-failed(ctx, nodes):
		return err
	}
}

// failed reports the first node that stops serving on its own (fail-stop).
func failed(ctx context.Context, nodes []*cluster.Node) <-chan error {
	ch := make(chan error, 1)
	for _, n := range nodes {
		go func() {
			if err := n.WaitApplied(ctx, ^uint64(0)); errors.Is(err, chain.ErrClosed) {
				select {
				case ch <- fmt.Errorf("node %s stopped: %w", n.ID(), n.Err()):
				default:
				}
			}
		}()
	}
	return ch
}

func printReady(out io.Writer, cfg chain.Config, ids []string, f flags) {
	where := "in memory"
	if f.data != "" {
		where = "on Pebble under " + f.data
	}
	for _, m := range cfg.Members {
		if slices.Contains(ids, m.ID) {
			fmt.Fprintf(out, "node %s (%s) listening on %s, %s\n", m.ID, cfg.Role(m.ID), m.Addr, where)
		}
	}
	fmt.Fprintf(out, "reach the chain with:\n  chainctl -members %s status\n", cluster.FormatMembers(cfg.Members))
}
