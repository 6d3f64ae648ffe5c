package benchload

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/internal/benchload/histogram"
)

// Tally is what one operation slot records of its operations. Its
// progress counters may be read from any goroutine; the rest belongs to
// the slot's goroutine until the slot ends.
type Tally struct {
	done, failed atomic.Int64

	lat      []time.Duration // latencies not yet in the worker's histogram
	errors   int64
	firstErr error
}

// Worker is a group of operation slots, each with its tally, and the
// histogram their latencies go to. A slot hands its latencies over once
// every FlushEvery operations, under the worker's lock, and writes its
// buffer sequentially in between instead of scattering writes over a
// histogram of its own.
type Worker struct {
	Tallies []*Tally

	mu   sync.Mutex
	hist *histogram.Histogram // guarded by mu
}

// NewWorker returns a worker of slots slots.
func NewWorker(slots int) *Worker {
	w := &Worker{hist: histogram.New()}
	for range slots {
		w.Tallies = append(w.Tallies, &Tally{lat: make([]time.Duration, 0, FlushEvery)})
	}
	return w
}

// Record counts one finished operation of the slot whose tally is t: its
// latency when err is nil, else the failure (the first one is kept).
func (w *Worker) Record(t *Tally, lat time.Duration, err error) {
	if err != nil {
		t.errors++
		if t.firstErr == nil {
			t.firstErr = err
		}
		t.failed.Add(1)
	} else {
		t.lat = append(t.lat, lat)
		if len(t.lat) == FlushEvery {
			w.Flush(t)
		}
	}
	t.done.Add(1)
}

// Flush adds the latencies t holds to the worker's histogram. A slot
// calls it when it ends.
func (w *Worker) Flush(t *Tally) {
	w.mu.Lock()
	for _, d := range t.lat {
		w.hist.Record(d)
	}
	w.mu.Unlock()
	t.lat = t.lat[:0]
}

// Progress returns the operations the worker's slots have finished and
// how many of them failed; it implements Counter.
func (w *Worker) Progress() (done, failed int64) {
	for _, t := range w.Tallies {
		done += t.done.Load()
		failed += t.failed.Load()
	}
	return done, failed
}

// Summarize merges the workers' histograms and tallies into the summary
// of run r, once every slot has ended.
func Summarize(r histogram.Run, workers []*Worker) histogram.Summary {
	total := histogram.New()
	for _, w := range workers {
		total.Merge(w.hist)
		for _, t := range w.Tallies {
			r.Errors += t.errors
			if r.FirstError == nil {
				r.FirstError = t.firstErr
			}
		}
	}
	return histogram.Summarize(r, total)
}
