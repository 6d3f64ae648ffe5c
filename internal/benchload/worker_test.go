package benchload

import (
	"errors"
	"testing"
	"time"

	"github.com/chainrep/chain/internal/benchload/histogram"
)

func TestWorkerRecordsAndSummarizes(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	a, b := NewWorker(2), NewWorker(1)
	// More successes than FlushEvery in one slot, so some are flushed
	// while the slot runs and the rest when it ends.
	for range FlushEvery + 3 {
		a.Record(a.Tallies[0], time.Millisecond, nil)
	}
	a.Record(a.Tallies[1], 0, first)
	a.Record(a.Tallies[1], 3*time.Millisecond, nil)
	b.Record(b.Tallies[0], 0, second)
	for _, w := range []*Worker{a, b} {
		for _, tally := range w.Tallies {
			w.Flush(tally)
		}
	}

	if done, failed := a.Progress(); done != FlushEvery+5 || failed != 1 {
		t.Fatalf("worker a progress %d done, %d failed; want %d, 1", done, failed, FlushEvery+5)
	}
	if done, failed := Totals([]*Worker{a, b}); done != FlushEvery+6 || failed != 2 {
		t.Fatalf("totals %d done, %d failed; want %d, 2", done, failed, FlushEvery+6)
	}
	s := Summarize(histogram.Run{Mode: "test", Elapsed: time.Second}, []*Worker{a, b})
	if s.Ops != FlushEvery+4 || s.Errors != 2 {
		t.Fatalf("summary: %d ops, %d errors; want %d ops (successes), 2 errors", s.Ops, s.Errors, FlushEvery+4)
	}
	if s.FirstError != first.Error() {
		t.Fatalf("first error %q, want %q (the first worker's)", s.FirstError, first.Error())
	}
	if s.MaxMs != 3 {
		t.Fatalf("max latency %v ms, want 3", s.MaxMs)
	}
}
