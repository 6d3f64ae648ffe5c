package benchload

import (
	"flag"
	"fmt"
	"time"
)

// Flags are the flags of a run that every load generator takes: its shape
// (workers, operations in flight, payload size), its length (a duration or
// an operation count), the per-operation timeout and the output.
type Flags struct {
	Workers    int           // -w
	Inflight   int           // -c: operations in flight per worker
	Size       int           // -size: payload bytes
	Duration   time.Duration // -d, unless Count is set
	Count      int64         // -n: total operations; wins over Duration when > 0
	Timeout    time.Duration // -timeout, per operation
	JSON       bool          // -json: the summary as one JSON object
	Progress   time.Duration // -progress: 0 for no progress line
	CPUProfile string        // -cpuprofile
}

// Register defines the flags on fs. A program may then change a flag's
// usage text to say more of what it means there (fs.Lookup(name).Usage).
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.IntVar(&f.Workers, "w", 2, "workers")
	fs.IntVar(&f.Inflight, "c", 50, "operations in flight per worker")
	fs.IntVar(&f.Size, "size", 100, "payload bytes of each operation")
	fs.DurationVar(&f.Duration, "d", 10*time.Second, "how long to run (ignored with -n)")
	fs.Int64Var(&f.Count, "n", 0, "total operations to run; overrides -d")
	fs.DurationVar(&f.Timeout, "timeout", 10*time.Second, "timeout of each operation; one that times out counts as an error")
	fs.BoolVar(&f.JSON, "json", false, "print the summary as one JSON object on stdout")
	fs.DurationVar(&f.Progress, "progress", time.Second, "interval of the progress line on stderr, 0 for none; with -json, none unless this flag is given")
	fs.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
}

// Parse parses args into fs, on which Register defined the flags, refuses
// arguments that are not flags, and checks the flags (see Check).
func (f *Flags) Parse(fs *flag.FlagSet, args []string, maxInflight, maxSize int) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return f.Check(fs, maxInflight, maxSize)
}

// Check validates the flags once fs is parsed, with the program's bounds
// on -c and -size, and turns the progress line off under -json unless
// -progress was given.
func (f *Flags) Check(fs *flag.FlagSet, maxInflight, maxSize int) error {
	progressSet := false
	fs.Visit(func(fl *flag.Flag) { progressSet = progressSet || fl.Name == "progress" })
	if f.JSON && !progressSet {
		f.Progress = 0
	}
	switch {
	case f.Workers < 1:
		return fmt.Errorf("-w must be at least 1, not %d", f.Workers)
	case f.Inflight < 1 || f.Inflight > maxInflight:
		return fmt.Errorf("-c must be within 1-%d, not %d", maxInflight, f.Inflight)
	case f.Size < 0 || f.Size > maxSize:
		return fmt.Errorf("-size must be within 0-%d, not %d", maxSize, f.Size)
	case f.Count < 0:
		return fmt.Errorf("-n must not be negative, not %d", f.Count)
	case f.Count == 0 && f.Duration <= 0:
		return fmt.Errorf("-d must be positive, not %v", f.Duration)
	case f.Timeout <= 0:
		return fmt.Errorf("-timeout must be positive, not %v", f.Timeout)
	case f.Progress < 0:
		return fmt.Errorf("-progress must not be negative, not %v", f.Progress)
	}
	return nil
}
