package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/tcp"
)

// keySpace is the number of distinct keys a partitioned run writes and
// reads: enough to spread evenly over the slots of every chain.
const keySpace = 100_000

// localCluster is a partitioned cluster that benchit runs in its own
// process: a master and servers, each server with its own TCP transport
// (its own connections, as separate processes would have), on free
// loopback ports.
type localCluster struct {
	masterAddr string
	trs        []*tcp.Transport // the master's first, then one per server
	deployment *launch.Partitioned
	dir        string // the Pebble data directory benchit created, or ""
}

// startLocalCluster starts a master of chains chains of min(3, servers)
// replicas and servers servers running the key-value store, in memory or
// on Pebble in a new directory under parent, and waits until every chain
// takes writes. The caller must Close it.
func startLocalCluster(ctx context.Context, chains, servers int, parent string, noSync bool, logger *slog.Logger) (*localCluster, error) {
	dir, err := newDataDir(parent)
	if err != nil {
		return nil, fmt.Errorf("local cluster: %w", err)
	}
	lc := &localCluster{dir: dir}
	if err := lc.start(ctx, chains, servers, noSync, logger); err != nil {
		return nil, errors.Join(err, lc.Close())
	}
	return lc, nil
}

func (lc *localCluster) start(ctx context.Context, chains, servers int, noSync bool, logger *slog.Logger) error {
	free, err := launch.FreeLocalMembers(1 + servers)
	if err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	lc.masterAddr = free[0].Addr
	pc := launch.PartitionedConfig{MasterAddr: lc.masterAddr, Chains: chains, Replicas: min(3, servers),
		DataDir: lc.dir, NoSync: noSync, Logger: logger}
	for i, m := range free {
		tr := tcp.New(tcp.Options{Logger: logger})
		lc.trs = append(lc.trs, tr)
		if i == 0 {
			pc.Transport = tr
			continue
		}
		pc.ServerAddrs = append(pc.ServerAddrs, m.Addr)
		pc.ServerTransports = append(pc.ServerTransports, tr)
	}
	if lc.deployment, err = launch.StartPartitioned(pc); err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	return lc.waitReady(ctx)
}

// waitReady waits until every chain has taken a write.
func (lc *localCluster) waitReady(ctx context.Context) error {
	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	c, err := partition.NewClient(partition.Options{Transport: tr, Masters: []string{lc.masterAddr}})
	if err != nil {
		return err
	}
	defer c.Close()
	layout, err := c.Layout(ctx)
	if err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	for _, ch := range layout.Chains {
		cl, err := c.Chain(ctx, ch.ID)
		if err != nil {
			return err
		}
		if _, err := cl.Append(ctx, nil); err != nil {
			return fmt.Errorf("local cluster: chain %s: %w", ch.ID, err)
		}
	}
	return nil
}

// Close stops the servers and the master and removes the data directory
// it created. It is idempotent.
func (lc *localCluster) Close() error {
	var errs []error
	if lc.deployment != nil {
		errs = append(errs, lc.deployment.Close())
		lc.deployment = nil
	}
	for _, tr := range lc.trs {
		errs = append(errs, tr.Close())
	}
	lc.trs = nil
	if lc.dir != "" {
		errs = append(errs, os.RemoveAll(lc.dir))
		lc.dir = ""
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local cluster: %w", err)
	}
	return nil
}

// readLayout reads the partitioned cluster's layout and opens a client of
// every chain before the run.
func (w *worker) readLayout(ctx context.Context) error {
	layout, err := w.part.Layout(ctx)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	for _, ch := range layout.Chains {
		if _, err := w.part.Chain(ctx, ch.ID); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
	}
	return nil
}

// partitionedOp is one operation on a partitioned cluster: a kv.put of a
// random key, or with isQuery a kv.get of one.
func (w *worker) partitionedOp(ctx context.Context, s *slot, isQuery bool, l *load) error {
	key := fmt.Sprintf("k%d", s.rng.IntN(keySpace))
	if isQuery {
		_, _, err := w.kv.Get(ctx, key)
		return err
	}
	return w.kv.Put(ctx, key, l.payload)
}

// setupTimeoutFor is how long setting up a run may take: a partitioned
// cluster waits for its servers to report and its chains to form.
func setupTimeoutFor(f flags) time.Duration {
	if f.chains > 0 {
		return 2 * setupTimeout
	}
	return setupTimeout
}
