package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/chainrep/chain/internal/benchload"
	"github.com/chainrep/chain/internal/benchload/histogram"
)

// setupTimeout bounds starting the cluster and electing a leader.
const setupTimeout = 30 * time.Second

// run parses args, runs the benchmark and prints the summary to stdout;
// progress and raft's errors go to stderr. If ctx ends (an interrupt) the
// run stops early and the summary covers what completed. It returns an
// error wrapping benchload.ErrOpsFailed if any operation failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Error, Output: stderr})
	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	c, err := startCluster(setupCtx, f, logger)
	if err != nil {
		return err
	}
	defer func() {
		// Connections torn down while closing make raft log errors that
		// mean nothing; real failures to close are returned.
		logger.SetLevel(hclog.Off)
		if err := c.Close(); err != nil {
			fmt.Fprintln(stderr, "raftcompare: close cluster:", err)
		}
	}()
	leader := c.leader()
	if leader == nil {
		return errors.New("raft cluster: leader lost before the run")
	}

	l := &load{payload: benchload.Payload(f.Size), timeout: f.Timeout, Budget: benchload.NewBudget(f.Count)}
	workers := make([]*worker, f.Workers)
	for i := range workers {
		workers[i] = newWorker(leader.raft, f.Inflight)
	}
	if f.clientHop {
		stop, err := connectWorkers(workers, leader.raft, f.Timeout)
		if err != nil {
			return err
		}
		defer stop()
	}
	stall := func() {
		logger.Error("no operation finished in time: shutting the cluster down", "timeout", f.Timeout)
		for _, n := range c.nodes {
			n.raft.Shutdown() // resolves every pending future with ErrRaftShutdown
		}
	}
	span, err := drive(ctx, f, workers, l, stall, stderr)
	if err != nil {
		return err
	}
	sum := summarize(f, workers, span)
	if err := f.WriteSummary(stdout, sum); err != nil {
		return err
	}
	if applied := leader.fsm.entries.Load(); sum.Errors == 0 && applied < uint64(sum.Ops) {
		return fmt.Errorf("leader's FSM applied %d entries, fewer than the %d acknowledged", applied, sum.Ops)
	}
	return benchload.Failed(sum)
}

// load is what every operation slot shares; see cmd/benchit's.
type load struct {
	payload []byte
	timeout time.Duration
	*benchload.Budget
}

// worker is a group of inflight slots applying to the leader.
type worker struct {
	*benchload.Worker
	r      *raft.Raft
	remote *remoteClient // with -client-hop: the worker's connection
}

func newWorker(r *raft.Raft, inflight int) *worker {
	return &worker{Worker: benchload.NewWorker(inflight), r: r}
}

// run applies entries for the slot whose tally is t until l says stop or ctx ends; an
// operation that ends after ctx is neither counted nor recorded. The
// slot's latencies are all in the worker's histogram when run returns.
func (w *worker) run(ctx context.Context, t *benchload.Tally, l *load) {
	defer w.Flush(t)
	for l.Next() {
		start := time.Now()
		err := w.apply(l)
		lat := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		w.Record(t, lat, err)
	}
}

// apply is one operation: raft.Apply of the payload on the leader, waiting
// for the entry to be committed and applied. l.timeout bounds the enqueue;
// raft resolves every future in the end (with ErrLeadershipLost or
// ErrRaftShutdown at the latest), and drive's watchdog shuts the cluster
// down if no operation finishes for l.timeout, so the wait is bounded too.
func (w *worker) apply(l *load) error {
	if w.remote != nil {
		return w.remote.apply(l.payload)
	}
	if err := w.r.Apply(l.payload, l.timeout).Error(); err != nil {
		return fmt.Errorf("raft apply: %w", err)
	}
	return nil
}

// drive runs every slot of every worker until the load is done and
// returns the time from the first request to the last answer and the CPU
// time spent. If no
// operation finishes for l.timeout it calls stall, which must make every
// pending operation fail (shut the cluster down).
func drive(ctx context.Context, f flags, workers []*worker, l *load, stall func(), stderr io.Writer) (benchload.Span, error) {
	var slots []func()
	for _, w := range workers {
		for _, t := range w.Tallies {
			slots = append(slots, func() { w.run(ctx, t, l) })
		}
	}
	stopWatchdog := watchdog(l.timeout, workers, func() { l.Stop(); stall() })
	defer stopWatchdog()
	return benchload.Drive(ctx, f.Flags, l.Budget, workers, slots, stderr)
}

// watchdog calls stall once if the workers finish no operation for
// timeout. The returned function stops it.
func watchdog(timeout time.Duration, workers []*worker, stall func()) (stop func()) {
	last, lastAt := int64(-1), time.Now()
	return benchload.Every(min(timeout/4, time.Second), func(now time.Time) bool {
		ops, _ := benchload.Totals(workers)
		if ops != last {
			last, lastAt = ops, now
		} else if now.Sub(lastAt) > timeout {
			stall()
			return false
		}
		return true
	})
}

func summarize(f flags, workers []*worker, span benchload.Span) histogram.Summary {
	r := histogram.Run{
		Mode: mode(f), Workers: f.Workers, Inflight: f.Inflight, Size: f.Size, Elapsed: span.Elapsed, CPU: span.CPU,
	}
	ws := make([]*benchload.Worker, len(workers))
	for i, w := range workers {
		ws[i] = w.Worker
	}
	return benchload.Summarize(r, ws)
}

// mode names the run in the summary: raft-mem or raft-bolt, with -hop
// when clients cross the network.
func mode(f flags) string {
	if f.clientHop {
		return "raft-" + f.store + "-hop"
	}
	return "raft-" + f.store
}

// connectWorkers starts an apply server in front of r and gives every
// worker its own connection to it. The returned function closes them all.
func connectWorkers(workers []*worker, r *raft.Raft, timeout time.Duration) (stop func(), err error) {
	srv, err := startApplyServer(r, timeout)
	if err != nil {
		return nil, err
	}
	stop = func() {
		for _, w := range workers {
			if w.remote != nil {
				_ = w.remote.Close()
			}
		}
		_ = srv.Close()
	}
	for _, w := range workers {
		if w.remote, err = dialApplyServer(srv.addr()); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}
