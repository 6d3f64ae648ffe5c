package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/faultsuite"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/transport/tcp"
)

// loadRun is one run of the workload: its transport, histories and the
// writes it made.
type loadRun struct {
	o  options
	tr *tcp.Transport

	// rec records both workloads on one clock (their histories are
	// told apart by input type), so that a command entry's append in the
	// log history can take its key-value write's interval.
	rec *chaintest.Recorder

	mu       sync.Mutex
	appends  []faultsuite.Write
	kvWrites []faultsuite.Write
	errs     map[string]int
	acked    uint64 // highest acknowledged raw append
}

func newRun(o options, tlsConfig *tls.Config) (*loadRun, error) {
	return &loadRun{o: o, tr: tcp.New(tcp.Options{TLS: tlsConfig}),
		rec: chaintest.NewRecorder(), errs: map[string]int{}}, nil
}

func (r *loadRun) close() { _ = r.tr.Close() }

// client returns a new chain client following the masters.
func (r *loadRun) client() (*chain.Client, error) {
	c, err := chain.NewClient(chain.WithTransport(r.tr), chain.WithMaster(r.o.masters...))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// execute runs the workload until heal, then the final phase, and
// returns the report.
func (r *loadRun) execute(ctx context.Context) faultsuite.Report {
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { r.watchView(stop) })
	for i := range r.o.kvClients {
		wg.Go(func() { r.worker(stop, i, r.kvOp) })
	}
	for i := range r.o.logClients {
		wg.Go(func() { r.worker(stop, r.o.kvClients+i, r.logOp) })
	}
	r.waitHeal(ctx)
	cancel()
	wg.Wait()

	rep := faultsuite.Report{ServingAfterMS: -1}
	if err := r.final(ctx, &rep); err != nil {
		rep.Final = err.Error()
	}
	r.mu.Lock()
	rep.Appends, rep.KVWrites, rep.Errors = r.appends, r.kvWrites, r.errs
	r.mu.Unlock()
	kvOps, logOps := split(r.rec.Operations())
	logOps = withCommandEntries(logOps, kvOps)
	rep.KVOps, rep.LogOps = len(kvOps), len(logOps)
	rep.KVCheck = verdict(chaintest.KVModel(), kvOps)
	rep.LogCheck = verdict(chaintest.LogModel(), logOps)
	return rep
}

// waitHeal returns once the heal file exists, -max passed or ctx ended.
func (r *loadRun) waitHeal(ctx context.Context) {
	deadline := time.After(r.o.max)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(filepath.Join(r.o.out, "heal")); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}

// worker runs op until ctx ends, as the sequential client id; after an
// operation of unknown outcome it goes on as a new client id (the
// unknown one stays in progress in the history).
func (r *loadRun) worker(ctx context.Context, id int, op func(context.Context, *chain.Client, *rand.Rand, int, int) bool) {
	c, err := r.client()
	if err != nil {
		r.count(err)
		return
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(r.o.seed, uint64(id)))
	recID := id
	for seq := 0; ctx.Err() == nil; seq++ {
		if !op(ctx, c, rng, recID, seq) {
			recID += 1000
		}
	}
}

// opContext is an operation's context: its own timeout, not the
// workload's stop, so that stopping never cancels an operation midway.
func (r *loadRun) opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), r.o.opTimeout)
}

// count tallies err by message.
func (r *loadRun) count(err error) {
	r.mu.Lock()
	r.errs[err.Error()]++
	r.mu.Unlock()
}

// definitelyRefused reports whether a write's error says it was not
// applied and never will be (as chaintest's workloads judge it).
func definitelyRefused(err error) bool { return errors.Is(err, chain.ErrTooManySessions) }

// watchView writes view.json every 300ms with what the leading master
// says, until ctx ends.
func (r *loadRun) watchView(ctx context.Context) {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		if v, ok := r.view(ctx); ok {
			_ = writeJSON(filepath.Join(r.o.out, "view.json"), v)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// view asks each master for its configuration and returns the leader's.
func (r *loadRun) view(ctx context.Context) (faultsuite.View, bool) {
	for _, m := range r.o.masters {
		c, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
		u, err := masterclient.FetchUpdate(c, r.tr, m)
		cancel()
		if err != nil || u.Follower {
			continue
		}
		v := faultsuite.View{Epoch: u.Config.Epoch, Leader: m}
		for _, mem := range u.Config.Members {
			v.Members = append(v.Members, mem.ID)
		}
		return v, true
	}
	return faultsuite.View{}, false
}
