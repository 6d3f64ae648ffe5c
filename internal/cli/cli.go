// Package cli runs the main function of the project's programs (chaind,
// chainctl, benchit, raftcompare) the same way: a context that SIGINT and
// SIGTERM cancel, the error printed once with the program's name, and an
// exit status that scripts can rely on.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs run with a context that SIGINT and SIGTERM cancel, and exits
// with the status ExitStatus gives its error (returning normally for
// status 0). A failed run's error is printed to stderr after name.
func Main(name string, run func(ctx context.Context) error, status func(error) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Finish(name, run(ctx), status, os.Stderr)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}

// Finish reports how a program whose run returned err ends: 0 for nil and
// for flag.ErrHelp (the user asked for the usage, which the flag set
// printed), otherwise status(err) (1 when status is nil), with err
// printed to stderr after name.
func Finish(name string, err error, status func(error) int, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	if status == nil {
		return 1
	}
	return status(err)
}

// FlawedStatus is the status function of a program whose output can be
// complete but flawed (a benchmark whose summary is printed though some
// operations failed): 1 for an error that wraps flawed, so scripts can
// tell it from 2, a run that could not be made.
func FlawedStatus(flawed error) func(error) int {
	return func(err error) int {
		if errors.Is(err, flawed) {
			return 1
		}
		return 2
	}
}
