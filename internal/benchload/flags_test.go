package benchload

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args         string
		err          string // "" for none
		wantProgress time.Duration
	}{
		{args: "", wantProgress: time.Second},
		{args: "-json", wantProgress: 0},
		{args: "-json -progress 2s", wantProgress: 2 * time.Second},
		{args: "-w 0", err: "-w must be at least 1"},
		{args: "-c 0", err: "-c must be within 1-64"},
		{args: "-c 65", err: "-c must be within 1-64"},
		{args: "-size -1", err: "-size must be within 0-1000"},
		{args: "-size 1001", err: "-size must be within 0-1000"},
		{args: "-n -1", err: "-n must not be negative"},
		{args: "-d 0", err: "-d must be positive"},
		{args: "-d 0 -n 5", wantProgress: time.Second},
		{args: "-timeout 0", err: "-timeout must be positive"},
		{args: "-progress -1s", err: "-progress must not be negative"},
		{args: "-w 1 extra", err: `unexpected arguments ["extra"]`},
		{args: "-nosuchflag", err: "flag provided but not defined"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			var f Flags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.Register(fs)
			err := f.Parse(fs, strings.Fields(tc.args), 64, 1000)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one with %q", err, tc.err)
			case tc.err == "" && f.Progress != tc.wantProgress:
				t.Fatalf("progress %v, want %v", f.Progress, tc.wantProgress)
			}
		})
	}
}
