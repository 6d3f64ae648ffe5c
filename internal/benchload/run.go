package benchload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/chainrep/chain/internal/benchload/histogram"
	"github.com/chainrep/chain/internal/cli"
)

// ErrOpsFailed is wrapped by the error of a run whose summary is complete
// but some of whose operations failed (see Failed).
var ErrOpsFailed = errors.New("operations failed")

// Main is the main function of the load generator name: it runs run with
// the program's arguments, standard output and standard error under
// cli.Main. A run whose operations partly failed still prints its
// summary; it exits with status 1 (an error wrapping ErrOpsFailed), so
// that scripts can tell it from a run that could not be made (2).
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	cli.Main(name, func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}, cli.FlawedStatus(ErrOpsFailed))
}

// Payload returns the payload of a run's operations: size bytes of the
// alphabet, repeated.
func Payload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

// Every calls tick from a goroutine of its own every interval until tick
// returns false or the returned function is called. That function waits
// for the goroutine to end; call it once.
func Every(interval time.Duration, tick func(now time.Time) (more bool)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				if !tick(now) {
					return
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// StartCPUProfile writes a CPU profile to the file at path (none when
// path is empty) until the returned function is called.
func StartCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	pf, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		_ = pf.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = pf.Close()
	}, nil
}

// Span is what Drive measured of a run: the time from the first start to
// the last return, and the CPU time the process spent meanwhile (user
// and system, of every goroutine: with a local cluster, its nodes' too;
// zero where the system does not say).
type Span struct {
	Elapsed, CPU time.Duration
}

// Drive runs every slot in a goroutine of its own until all have returned,
// and returns the span from the first start to the last return. Meanwhile
// it stops b when ctx ends and, unless b is bounded, once f.Duration has
// passed; it profiles the CPU to f.CPUProfile and prints the progress line
// of counters to stderr every f.Progress. A slot must return soon after
// b stops.
func Drive[C Counter](ctx context.Context, f Flags, b *Budget, counters []C, slots []func(), stderr io.Writer) (Span, error) {
	stopProfile, err := StartCPUProfile(f.CPUProfile)
	if err != nil {
		return Span{}, err
	}
	defer stopProfile()
	stopOnCancel := context.AfterFunc(ctx, b.Stop)
	defer stopOnCancel()
	if !b.Bounded() {
		timer := time.AfterFunc(f.Duration, b.Stop)
		defer timer.Stop()
	}
	stopProgress := StartProgress(f.Progress, counters, stderr)

	start, cpuStart := time.Now(), ProcessCPU()
	var wg sync.WaitGroup
	for _, slot := range slots {
		wg.Go(slot)
	}
	wg.Wait()
	span := Span{Elapsed: time.Since(start), CPU: ProcessCPU() - cpuStart}
	stopProgress()
	return span, nil
}

// WriteSummary writes s to w: as one JSON object with -json, else as text.
func (f Flags) WriteSummary(w io.Writer, s histogram.Summary) error {
	if f.JSON {
		return s.WriteJSON(w)
	}
	return s.WriteText(w)
}

// Failed returns an error wrapping ErrOpsFailed, with the count and the
// first error, if any operation of the run that s sums up failed.
func Failed(s histogram.Summary) error {
	if s.Errors == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d of %d (first: %s)", ErrOpsFailed, s.Errors, s.Errors+s.Ops, s.FirstError)
}
