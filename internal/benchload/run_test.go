package benchload

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chainrep/chain/internal/benchload/histogram"
	"github.com/chainrep/chain/internal/testutil"
)

func TestPayload(t *testing.T) {
	if got := string(Payload(30)); got != "abcdefghijklmnopqrstuvwxyzabcd" {
		t.Fatalf("Payload(30) = %q", got)
	}
	if got := Payload(0); len(got) != 0 {
		t.Fatalf("Payload(0) = %q", got)
	}
}

// TestEveryTicksUntilToldToStop: tick runs once an interval until it
// returns false; after that, stop returns at once.
func TestEveryTicksUntilToldToStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		stop := Every(time.Second, func(now time.Time) bool {
			at = append(at, now.Sub(start))
			return len(at) < 3
		})
		time.Sleep(10 * time.Second)
		stop()
		want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
		if len(at) != len(want) || at[0] != want[0] || at[1] != want[1] || at[2] != want[2] {
			t.Fatalf("ticks at %v, want %v", at, want)
		}
	})
}

func TestFailed(t *testing.T) {
	for _, tc := range []struct {
		name string
		sum  histogram.Summary
		want string // "" for no error
	}{
		{"no errors", histogram.Summary{Ops: 10}, ""},
		{"some errors", histogram.Summary{Ops: 8, Errors: 2, FirstError: "boom"}, "operations failed: 2 of 10 (first: boom)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Failed(tc.sum)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrOpsFailed) {
				t.Fatalf("error %v, want %q wrapping ErrOpsFailed", err, tc.want)
			}
		})
	}
}

func TestWriteSummary(t *testing.T) {
	sum := histogram.Summary{Mode: "test", Ops: 3}
	for _, tc := range []struct {
		json bool
		want string
	}{
		{true, `"mode":"test"`},
		{false, "test"},
	} {
		var out strings.Builder
		if err := (Flags{JSON: tc.json}).WriteSummary(&out, sum); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Fatalf("json=%v: summary %q does not hold %q", tc.json, out.String(), tc.want)
		}
	}
}

// TestDriveEndsAnUnboundedRunAfterItsDuration: Drive runs every slot,
// stops the budget once the duration has passed and returns when the
// slots have.
func TestDriveEndsAnUnboundedRunAfterItsDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0)
		var ops atomic.Int64
		slot := func() {
			for b.Next() {
				time.Sleep(time.Millisecond)
				ops.Add(1)
			}
		}
		var out testutil.SyncBuffer
		span, err := Drive(context.Background(), Flags{Duration: time.Second}, b, []Counter{},
			[]func(){slot, slot}, &out)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := span.Elapsed
		if elapsed < time.Second || elapsed > time.Second+time.Millisecond {
			t.Fatalf("elapsed %v, want the duration of 1s (and one operation)", elapsed)
		}
		if got := ops.Load(); got < 2000 || got > 2002 {
			t.Fatalf("%d operations, want about 1000 per slot", got)
		}
	})
}

// TestDriveStopsWhenTheContextEnds: a run bounded by a count that is
// never reached ends when its context does.
func TestDriveStopsWhenTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(1 << 60)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		slot := func() {
			for b.Next() {
				time.Sleep(time.Second)
			}
		}
		var out testutil.SyncBuffer
		span, err := Drive(ctx, Flags{Duration: time.Nanosecond}, b, []Counter{}, []func(){slot}, &out)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := span.Elapsed
		if elapsed < time.Minute || elapsed > time.Minute+time.Second {
			t.Fatalf("elapsed %v, want the context's minute (and the operation in flight)", elapsed)
		}
	})
}

// TestDriveMeasuresTheProcessCPU: a slot that keeps a core busy makes
// Drive report CPU time of the order of the elapsed time.
func TestDriveMeasuresTheProcessCPU(t *testing.T) {
	b := NewBudget(0)
	slot := func() {
		x := 0
		for b.Next() {
			for i := range 1 << 16 {
				x += i
			}
		}
		_ = x
	}
	var out testutil.SyncBuffer
	span, err := Drive(context.Background(), Flags{Duration: 100 * time.Millisecond}, b, []Counter{}, []func(){slot}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if ProcessCPU() == 0 {
		return // the system does not say (cpu_other.go)
	}
	if span.CPU <= 0 || span.CPU > 10*span.Elapsed {
		t.Fatalf("CPU %v for a busy slot over %v", span.CPU, span.Elapsed)
	}
}
