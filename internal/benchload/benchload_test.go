package benchload

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chainrep/chain/internal/testutil"
)

func TestBudgetBoundsOperations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		count int64
		stop  int // Stop after this many Next calls; -1 never
		calls int
		want  int // Next calls that report true
	}{
		{"bounded", 3, -1, 10, 3},
		{"unbounded until stopped", 0, 5, 10, 5},
		{"stopped before the bound", 100, 2, 10, 2},
		{"stopped at once", 0, 0, 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.count)
			got := 0
			for i := range tc.calls {
				if i == tc.stop {
					b.Stop()
				}
				if b.Next() {
					got++
				}
			}
			if got != tc.want {
				t.Fatalf("Next reported true %d times, want %d", got, tc.want)
			}
		})
	}
}

func TestBudgetSharedBySlots(t *testing.T) {
	b := NewBudget(1000)
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			n := 0
			for b.Next() {
				n++
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1000 {
		t.Fatalf("slots ran %d operations, want 1000", total)
	}
}

type counter struct{ done, failed int64 }

func (c *counter) Progress() (int64, int64) { return c.done, c.failed }

func TestProgressLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &counter{done: 30, failed: 1}, &counter{done: 20}
		var out testutil.SyncBuffer
		stop := StartProgress(time.Second, []Counter{a, b}, &out)
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		stop()
		got := out.String()
		if !strings.Contains(got, "50 ops") || !strings.Contains(got, "50 ops/s") || !strings.Contains(got, "1 errors") {
			t.Fatalf("progress line %q does not show 50 ops at 50 ops/s and 1 error", got)
		}
		if !strings.HasSuffix(got, "\n") {
			t.Fatalf("stop did not end the line: %q", got)
		}
	})
}

func TestNoProgressWithoutInterval(t *testing.T) {
	var out testutil.SyncBuffer
	StartProgress(0, []Counter{&counter{done: 1}}, &out)()
	if out.String() != "" {
		t.Fatalf("printed %q with interval 0", out.String())
	}
}
