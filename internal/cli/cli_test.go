package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestFinish(t *testing.T) {
	partial := errors.New("some operations failed")
	status := func(err error) int {
		if errors.Is(err, partial) {
			return 1
		}
		return 2
	}
	for _, tc := range []struct {
		name   string
		err    error
		status func(error) int
		want   int
		stderr string
	}{
		{"success", nil, status, 0, ""},
		{"help asked for", flag.ErrHelp, status, 0, ""},
		{"help wrapped", fmt.Errorf("flags: %w", flag.ErrHelp), nil, 0, ""},
		{"a failure by the program's own status", fmt.Errorf("run: %w", partial), status, 1, "prog: run: some operations failed\n"},
		{"any other failure", errors.New("no chain"), status, 2, "prog: no chain\n"},
		{"a failure without a status function", errors.New("bad flag"), nil, 1, "prog: bad flag\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := Finish("prog", tc.err, tc.status, &stderr); got != tc.want {
				t.Errorf("exit status %d, want %d", got, tc.want)
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}
