package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/transport/tcp"
)

// startAttempts bounds how often startLocal picks new ports when one of
// the free ports it chose was taken before a node listened on it.
const startAttempts = 3

// localChain is a chain that benchit runs in its own process: its nodes
// share one TCP transport and listen on free loopback ports.
type localChain struct {
	cfg   chain.Config
	tr    *tcp.Transport
	chain *launch.Chain
	dir   string // the Pebble data directory benchit created, or ""
}

// startLocal starts an n-node chain on loopback TCP, running the key-value
// store. With parent non-empty the nodes keep their logs on Pebble in a new
// directory under parent (fsync per write unless noSync), which Close
// removes. Node errors are logged to logger. The caller must Close it.
func startLocal(ctx context.Context, n int, parent string, noSync bool, logger *slog.Logger) (*localChain, error) {
	dir, err := newDataDir(parent)
	if err != nil {
		return nil, fmt.Errorf("local chain: %w", err)
	}
	lc := &localChain{dir: dir}
	for range startAttempts {
		if err = lc.start(ctx, n, noSync, logger); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, errors.Join(err, lc.Close())
	}
	return lc, nil
}

// start makes one attempt at starting the nodes on new free ports; on
// failure it leaves nothing running.
func (lc *localChain) start(ctx context.Context, n int, noSync bool, logger *slog.Logger) error {
	members, err := launch.FreeLocalMembers(n)
	if err != nil {
		return fmt.Errorf("local chain: %w", err)
	}
	dataDir := ""
	if lc.dir != "" {
		// A fresh directory per attempt: a failed attempt's data belongs
		// to other addresses.
		if dataDir, err = os.MkdirTemp(lc.dir, "try-"); err != nil {
			return fmt.Errorf("local chain: %w", err)
		}
	}
	lc.cfg = chain.Config{Epoch: 1, Members: members}
	lc.tr = tcp.New(tcp.Options{Logger: logger})
	lc.chain, err = launch.StartChain(ctx, launch.ChainConfig{
		Config: lc.cfg, Transport: lc.tr, DataDir: dataDir, NoSync: noSync, Logger: logger,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("local chain: %w", err), lc.stop())
	}
	return nil
}

// stop closes the nodes and the transport.
func (lc *localChain) stop() error {
	var errs []error
	if lc.chain != nil {
		if err := lc.chain.Close(); err != nil {
			errs = append(errs, fmt.Errorf("local chain: %w", err))
		}
		lc.chain = nil
	}
	if lc.tr != nil {
		if err := lc.tr.Close(); err != nil {
			errs = append(errs, fmt.Errorf("local chain: close transport: %w", err))
		}
		lc.tr = nil
	}
	return errors.Join(errs...)
}

// Close stops the chain and removes the data directory it created. It is
// idempotent.
func (lc *localChain) Close() error {
	err := lc.stop()
	if lc.dir != "" {
		if rmErr := os.RemoveAll(lc.dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("local chain: remove data: %w", rmErr))
		}
		lc.dir = ""
	}
	return err
}

// failed returns the first node's error if any node has stopped serving on
// its own (fail-stop, e.g. after a storage error), else nil.
func (lc *localChain) failed() error {
	for _, n := range lc.chain.Nodes {
		if err := n.Err(); err != nil && !errors.Is(err, chain.ErrClosed) {
			return fmt.Errorf("local node %s stopped serving: %w", n.ID(), err)
		}
	}
	return nil
}

// writeStats prints each node's counters, one line per node, and the
// nodes' transport's.
func (lc *localChain) writeStats(w io.Writer) {
	ts := lc.tr.Stats()
	fmt.Fprintf(w, "nodes' transport: sent %d messages, dropped %d, dials %d (%d failed)\n",
		ts.Sent, ts.Dropped, ts.Dials, ts.DialFailures)
	for _, n := range lc.chain.Nodes {
		s := n.Stats()
		fmt.Fprintf(w, "node %s (%s): last %d commit %d applied %d ordered %d received %d sent %d replies %d queries %d refused %d pending %d inflight-bytes %d\n",
			s.ID, s.Role, s.LastOffset, s.CommitPoint, s.Applied, s.Ordered, s.Received, s.Sent, s.Replies, s.Queries,
			s.Refused, s.PendingWrites, s.InflightBytes)
	}
}

// newDataDir creates a new directory under parent for a local run's Pebble
// data, or returns "" when parent is empty (the run keeps its data in
// memory).
func newDataDir(parent string) (string, error) {
	if parent == "" {
		return "", nil
	}
	return os.MkdirTemp(parent, "benchit-")
}
