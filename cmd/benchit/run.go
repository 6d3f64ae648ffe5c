package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/benchload"
	"github.com/chainrep/chain/internal/benchload/histogram"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/transport/tcp"
)

// setupTimeout bounds starting the local chain, connecting the workers and
// writing the key that queries read.
const setupTimeout = 30 * time.Second

// run parses args, runs the benchmark and prints the summary to stdout;
// progress and logs go to stderr. If ctx ends (an interrupt) the run stops
// early and the summary covers what completed. It returns an error
// wrapping benchload.ErrOpsFailed if any operation failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	setupCtx, cancel := context.WithTimeout(ctx, setupTimeoutFor(f))
	defer cancel()
	tgt, mode, local, err := target(setupCtx, f, logger)
	if err != nil {
		return err
	}
	if local != nil {
		defer func() {
			if err := local.Close(); err != nil {
				logger.Error("close local chain", "err", err)
			}
		}()
	}
	if f.chains > 0 {
		lc, err := startLocalCluster(setupCtx, f.chains, f.servers, f.data, f.noSync, logger)
		if err != nil {
			return err
		}
		defer func() {
			if err := lc.Close(); err != nil {
				logger.Error("close local cluster", "err", err)
			}
		}()
		tgt.masters = []string{lc.masterAddr}
	}
	workers, err := startWorkers(setupCtx, tgt, f)
	defer func() {
		for _, w := range workers {
			if err := w.Close(); err != nil {
				logger.Error("close worker", "err", err)
			}
		}
	}()
	if err != nil {
		return err
	}
	l := &load{payload: benchload.Payload(f.Size), query: f.query, timeout: f.Timeout, Budget: benchload.NewBudget(f.Count)}
	if f.query > 0 && !tgt.partitioned {
		if err := workers[0].kv.Put(setupCtx, queryKey, l.payload); err != nil {
			return fmt.Errorf("write the key queries read: %w", err)
		}
	}

	span, err := drive(ctx, f, workers, l, stderr)
	if err != nil {
		return err
	}
	sum := summarize(f, mode, workers, span)
	if err := f.WriteSummary(stdout, sum); err != nil {
		return err
	}
	if local != nil && f.nodeStats {
		local.writeStats(stderr)
	}
	if local != nil {
		if err := local.failed(); err != nil {
			return err
		}
	}
	return benchload.Failed(sum)
}

// loadTarget is what the workers load: one chain, given by its
// configuration (cfg) or by its masters, or a partitioned cluster, given
// by its masters.
type loadTarget struct {
	cfg         chain.Config
	masters     []string
	partitioned bool
	tls         *tls.Config // mutual TLS to a remote chain or cluster; nil: plain TCP
}

// target returns what to load and the run's mode; for a local chain it
// starts it, and the caller must close it. With -master it asks the
// masters whether they run one chain or a partitioned cluster.
func target(ctx context.Context, f flags, logger *slog.Logger) (loadTarget, string, *localChain, error) {
	tlsConfig, err := f.tls.Config()
	if err != nil {
		return loadTarget{}, "", nil, err
	}
	switch {
	case f.masters != "":
		return remoteTarget(ctx, flagvalue.SplitAddrs(f.masters), tlsConfig)
	case f.chains > 0 && f.data != "" && f.noSync:
		return loadTarget{partitioned: true}, fmt.Sprintf("partitioned-%d-pebble-nosync", f.chains), nil, nil
	case f.chains > 0 && f.data != "":
		return loadTarget{partitioned: true}, fmt.Sprintf("partitioned-%d-pebble", f.chains), nil, nil
	case f.chains > 0:
		return loadTarget{partitioned: true}, fmt.Sprintf("partitioned-%d-mem", f.chains), nil, nil
	}
	if f.members != "" {
		members, err := flagvalue.ParseMembers(f.members)
		if err != nil {
			return loadTarget{}, "", nil, err
		}
		return loadTarget{cfg: chain.Config{Epoch: 1, Members: members}, tls: tlsConfig}, "chain-remote", nil, nil
	}
	mode := "chain-mem"
	switch {
	case f.data != "" && f.noSync:
		mode = "chain-pebble-nosync"
	case f.data != "":
		mode = "chain-pebble"
	}
	lc, err := startLocal(ctx, f.nodes, f.data, f.noSync, logger)
	if err != nil {
		return loadTarget{}, "", nil, err
	}
	return loadTarget{cfg: lc.cfg}, mode, lc, nil
}

// remoteTarget asks the masters at addrs for their layout: a master of
// one chain gives mode "chain-remote-master", whose workers follow the
// chain through the masters; a master of a partitioned cluster gives
// "partitioned-remote".
func remoteTarget(ctx context.Context, masters []string, tlsConfig *tls.Config) (loadTarget, string, *localChain, error) {
	tr := tcp.New(tcp.Options{TLS: tlsConfig})
	defer tr.Close()
	u, _, err := masterclient.FetchCluster(ctx, tr, masters...)
	if err != nil {
		return loadTarget{}, "", nil, err
	}
	if masterclient.IsPartitioned(u.Cluster) {
		return loadTarget{masters: masters, partitioned: true, tls: tlsConfig}, "partitioned-remote", nil, nil
	}
	return loadTarget{masters: masters, tls: tlsConfig}, "chain-remote-master", nil, nil
}

// startWorkers creates the workers; a partitioned cluster's workers read
// its layout. No worker contacts a node before the run: connecting is part
// of what a user's first calls take, so it is measured. It returns the
// workers created so far even on error; the caller closes them.
func startWorkers(ctx context.Context, tgt loadTarget, f flags) ([]*worker, error) {
	var workers []*worker
	for i := range f.Workers {
		w, err := newWorker(tgt, f.Inflight, uint64(i))
		if err != nil {
			return workers, err
		}
		workers = append(workers, w)
		if w.part == nil {
			continue
		}
		if err := w.readLayout(ctx); err != nil {
			return workers, fmt.Errorf("worker %d: %w", i, err)
		}
	}
	return workers, nil
}

// drive runs every slot of every worker until the load is done (the count
// reached, the duration over or ctx ended) and returns the time from the
// first request to the last answer, and the CPU time spent.
func drive(ctx context.Context, f flags, workers []*worker, l *load, stderr io.Writer) (benchload.Span, error) {
	var slots []func()
	for _, w := range workers {
		for _, s := range w.slots {
			slots = append(slots, func() { w.run(ctx, s, l) })
		}
	}
	stopWatching := watchDeadlines(l.timeout, workers)
	defer stopWatching()
	return benchload.Drive(ctx, f.Flags, l.Budget, workers, slots, stderr)
}

// summarize merges the slots' histograms and counters.
func summarize(f flags, mode string, workers []*worker, span benchload.Span) histogram.Summary {
	r := histogram.Run{
		Mode: mode, Workers: f.Workers, Inflight: f.Inflight, Size: f.Size,
		QueryFraction: f.query, Elapsed: span.Elapsed, CPU: span.CPU,
	}
	ws := make([]*benchload.Worker, len(workers))
	for i, w := range workers {
		ws[i] = w.Worker
		for _, s := range w.slots {
			r.Queries += s.queries
		}
	}
	return benchload.Summarize(r, ws)
}
