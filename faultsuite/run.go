package faultsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Config is how RunSchedule runs a schedule.
type Config struct {
	Image string        // the image with chaind, chainctl and load
	Dir   string        // the host directory under which each schedule's volumes go
	FT    time.Duration // the masters' failure timeout
	Logf  func(format string, args ...any)
}

// Bounds of a schedule's phases.
const (
	upBound     = 90 * time.Second // the cluster up and the load writing
	reportBound = 5 * time.Minute  // the load's final phase and checks
)

// RunSchedule runs one schedule on a cluster of its own and returns the
// violations found (none: the schedule passed); an error means the
// schedule could not be run. The containers, network and volumes are
// removed whatever happens; on violations the load's output directory
// (report, visualizations) and the processes' last log lines are kept in
// Dir/chainfs-SEED-evidence.
func RunSchedule(ctx context.Context, cfg Config, s Schedule) (violations []string, err error) {
	c := &Cluster{ID: fmt.Sprintf("%s%d", Prefix, s.Seed), Image: cfg.Image, FT: cfg.FT, Logf: cfg.Logf}
	c.Dir = filepath.Join(cfg.Dir, c.ID)
	defer func() {
		if len(violations) > 0 || err != nil {
			c.keepEvidence(filepath.Join(cfg.Dir, c.ID+"-evidence"))
		}
		rctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = errors.Join(err, c.Remove(rctx))
	}()
	if err := c.Start(ctx, s.Seed); err != nil {
		return nil, err
	}
	if err := c.waitUp(ctx); err != nil {
		return nil, err
	}
	sleep(ctx, c.FT) // writes under way before the first fault
	for _, st := range s.Steps {
		did, broken, err := c.Apply(ctx, st)
		c.Logf("  %s", did)
		if err != nil {
			return violations, fmt.Errorf("step %s: %w", st, err)
		}
		violations = append(violations, broken...)
		sleep(ctx, c.FT)
		c.waitWhole(ctx, 4*c.FT)
	}
	c.HealAll(ctx)
	rep, err := c.finish(ctx)
	if err != nil {
		return violations, err
	}
	c.Logf("  report: %d kv and %d log operations, kv %s, log %s, serving %d ms after heal, members %v at epoch %d, commit %d",
		rep.KVOps, rep.LogOps, rep.KVCheck, rep.LogCheck, rep.ServingAfterMS, rep.Members, rep.Epoch, rep.Commit)
	if rep.KVCheck != "ok" {
		violations = append(violations, "kv history: "+rep.KVCheck)
	}
	if rep.LogCheck != "ok" {
		violations = append(violations, "log history: "+rep.LogCheck)
	}
	if rep.Final != "" {
		violations = append(violations, "after heal: "+rep.Final)
	}
	if rep.KVOps == 0 || rep.LogOps == 0 {
		violations = append(violations, fmt.Sprintf("a workload recorded nothing (kv %d, log %d operations)", rep.KVOps, rep.LogOps))
	}
	if len(rep.Members) == 0 {
		return violations, nil
	}
	if err := c.StopNodes(ctx); err != nil {
		return violations, err
	}
	logs := map[string][]Entry{}
	for _, m := range rep.Members {
		l, err := c.ReadLog(m)
		if err != nil {
			return violations, err
		}
		logs[m] = l
	}
	return append(violations, CheckLogs(logs, rep.Commit, rep)...), nil
}

// waitUp waits until the load program sees a leading master and a chain
// of three.
func (c *Cluster) waitUp(ctx context.Context) error {
	deadline := time.Now().Add(upBound)
	for {
		if v, err := c.View(); err == nil && v.Leader != "" && len(v.Members) == len(nodeNames) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster was not up within %v; the last lines of each process:%s", upBound, c.lastLines(ctx, 3))
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// lastLines returns the last lines every process printed, each under
// its name: what a run on a machine whose volumes are gone says of why.
func (c *Cluster) lastLines(ctx context.Context, lines int) string {
	var b strings.Builder
	for _, p := range slices.Concat(masterNames, nodeNames, []string{spare, "load"}) {
		fmt.Fprintf(&b, "\n  %s:\n    %s", p, strings.ReplaceAll(strings.TrimSpace(c.Logs(ctx, p, lines)), "\n", "\n    "))
	}
	return b.String()
}

// waitWhole waits, at most bound, for the load program to see a leading
// master and a chain of at least three, so that the next step finds the
// chain whole again where it can be.
func (c *Cluster) waitWhole(ctx context.Context, bound time.Duration) {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if v, err := c.View(); err == nil && v.Leader != "" && len(v.Members) >= len(nodeNames) {
			return
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// finish tells the load program the faults are over and waits for its
// report.
func (c *Cluster) finish(ctx context.Context) (Report, error) {
	var rep Report
	out := filepath.Join(c.Dir, "out")
	if err := os.WriteFile(filepath.Join(out, "heal"), nil, 0o644); err != nil {
		return rep, fmt.Errorf("heal: %w", err)
	}
	deadline := time.Now().Add(reportBound)
	for {
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err == nil {
			if err := json.Unmarshal(b, &rep); err != nil {
				return rep, fmt.Errorf("report: %w", err)
			}
			return rep, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return rep, fmt.Errorf("no report within %v of heal; load said: %s", reportBound, c.Logs(ctx, "load", 20))
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// keepEvidence copies the load's output and every process's last log
// lines to dir.
func (c *Cluster) keepEvidence(dir string) {
	_ = os.MkdirAll(dir, 0o755)
	_ = os.Rename(filepath.Join(c.Dir, "out"), filepath.Join(dir, "out"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range slices.Concat(masterNames, nodeNames, []string{spare, "load"}) {
		_ = os.WriteFile(filepath.Join(dir, p+".log"), []byte(c.Logs(ctx, p, 200)), 0o644)
	}
	c.Logf("  evidence kept in %s", dir)
}
