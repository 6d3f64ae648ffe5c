package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/benchload"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/tcp"
)

// queryKey is the key queries read; setup writes it before the run.
const queryKey = "benchit"

// load is what every operation slot shares: the workload and the stop
// conditions. It is read-only during the run apart from its atomics.
type load struct {
	payload []byte
	query   float64       // fraction of operations that are queries
	timeout time.Duration // per operation
	*benchload.Budget
}

// worker is one client of the chain with its own transport, and so its
// own connections, and inflight slots that each keep one request in
// flight.
type worker struct {
	tr     *tcp.Transport
	client *chain.Client     // one chain; nil for a partitioned cluster
	part   *partition.Client // a partitioned cluster; nil for one chain
	kv     *kv.Client
	slots  []*slot
	*benchload.Worker
}

// slot is one request in flight, run by one goroutine. Its fields other
// than the progress counters are the goroutine's own until it ends.
type slot struct {
	*benchload.Tally

	// started is when the operation in flight began (Unix nanoseconds),
	// 0 between operations. The deadline watcher swaps it to timedOut
	// when the operation has run past the timeout, and then cancels op.
	started atomic.Int64
	op      atomic.Pointer[opContext] // the context operations run under

	queries int64
	rng     *rand.Rand
}

// newWorker creates a worker with its own transport and client for tgt,
// with room for inflight requests in flight (per chain). The caller must
// close it.
func newWorker(tgt loadTarget, inflight int, seed uint64) (*worker, error) {
	tr := tcp.New(tcp.Options{TLS: tgt.tls})
	w := &worker{tr: tr, Worker: benchload.NewWorker(inflight)}
	var err error
	if tgt.partitioned {
		w.part, err = partition.NewClient(partition.Options{Transport: tr, Masters: tgt.masters,
			ClientOptions: []chain.ClientOption{chain.WithMaxInflight(inflight)}})
		if err == nil {
			w.kv = kv.NewPartitionedClient(w.part)
		}
	} else {
		opts := []chain.ClientOption{chain.WithTransport(tr), chain.WithMaxInflight(inflight)}
		if len(tgt.cfg.Members) > 0 {
			opts = append(opts, chain.WithConfig(tgt.cfg))
		}
		if len(tgt.masters) > 0 {
			opts = append(opts, chain.WithMaster(tgt.masters...))
		}
		w.client, err = chain.NewClient(opts...)
		if err == nil {
			w.kv = kv.NewClient(w.client)
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("worker: %w", err), tr.Close())
	}
	for i := range inflight {
		w.slots = append(w.slots, &slot{
			Tally: w.Tallies[i],
			rng:   rand.New(rand.NewPCG(seed, uint64(i))),
		})
	}
	return w, nil
}

// Close closes the client and the transport.
func (w *worker) Close() error {
	var err error
	if w.part != nil {
		err = w.part.Close()
	} else {
		err = w.client.Close()
	}
	return errors.Join(err, w.tr.Close())
}

// run runs operations on slot s until l says stop or ctx ends. ctx is the
// run's context: an operation cut short by its end is neither counted nor
// recorded. An operation the deadline watcher (watchDeadlines) finds past
// l.timeout is cancelled and counted as an error. The slot's latencies are
// all in the worker's histogram when run returns.
func (w *worker) run(ctx context.Context, s *slot, l *load) {
	defer w.Flush(s.Tally)
	defer func() {
		if oc := s.op.Swap(nil); oc != nil {
			oc.cancel(nil)
		}
	}()
	for l.Next() {
		// Operations share one context per slot until one times out: a
		// context with a deadline per operation would cost a timer each.
		oc := s.op.Load()
		if oc == nil {
			oc = newOpContext(ctx)
			s.op.Store(oc)
		}
		isQuery := l.query > 0 && s.rng.Float64() < l.query
		start := time.Now()
		s.started.Store(start.UnixNano())
		err := w.op(oc.ctx, s, isQuery, l)
		lat := time.Since(start)
		if !s.started.CompareAndSwap(start.UnixNano(), 0) {
			// The watcher claimed the operation: it ran past the timeout,
			// and the watcher cancels its context, which the slot drops.
			s.started.Store(0)
			s.op.Store(nil)
			err = fmt.Errorf("%w after %v (%v)", errTimedOut, lat.Round(time.Millisecond), err)
		}
		if ctx.Err() != nil {
			return // interrupted: the operation's outcome says nothing about the chain
		}
		if err == nil && isQuery {
			s.queries++
		}
		w.Record(s.Tally, lat, err)
	}
}

// op runs one operation.
func (w *worker) op(ctx context.Context, s *slot, isQuery bool, l *load) error {
	if w.part != nil {
		return w.partitionedOp(ctx, s, isQuery, l)
	}
	if !isQuery {
		_, err := w.client.Append(ctx, l.payload)
		return err
	}
	v, found, err := w.kv.Get(ctx, queryKey)
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("kv.get %q: key not found, though written before the run", queryKey)
	case len(v) != len(l.payload):
		return fmt.Errorf("kv.get %q: %d bytes, want %d", queryKey, len(v), len(l.payload))
	}
	return nil
}
