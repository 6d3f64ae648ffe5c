package pebble

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// failure is the storage's fail-stop state: the first write or sync error
// it saw, after which every change is refused. A failed fsync must not be
// retried as if nothing had happened: the kernel may have dropped the
// dirty pages it could not write, so a later successful fsync proves
// nothing about them ("fsyncgate"). Refusing every later change keeps the
// node from acknowledging anything on top of a log whose durable state is
// unknown; the node must be restarted (and recovers from what is on disk)
// or replaced. It is safe for concurrent use.
type failure struct {
	mu    sync.Mutex
	first error
}

// record keeps err as the first failure unless there already is one.
func (f *failure) record(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first == nil {
		f.first = err
	}
}

// err returns the first failure, or nil.
func (f *failure) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

// check returns nil if nothing has failed; otherwise an error for the
// operation op that wraps ErrFailed and the first failure.
func (f *failure) check(op string) error {
	first := f.err()
	if first == nil {
		return nil
	}
	return fmt.Errorf("pebble storage: %s: %w after an earlier error: %w", op, ErrFailed, first)
}

// fail records err as a failure of op (the first one, unless another came
// first) and returns the error op reports: it wraps err, ErrFailed and
// the first failure when that is another error.
func (f *failure) fail(op string, err error) error {
	f.record(err)
	if first := f.err(); first != err {
		return fmt.Errorf("pebble storage: %s: %w (%w after an earlier error: %w)", op, err, ErrFailed, first)
	}
	return fmt.Errorf("pebble storage: %s: %w: %w", op, err, ErrFailed)
}

// fatalError is an error Pebble reported through Logger.Fatalf. It keeps
// the first error among the arguments, so errors.Is sees the cause.
type fatalError struct {
	msg   string
	cause error
}

func (e *fatalError) Error() string { return "pebble fatal error: " + e.msg }
func (e *fatalError) Unwrap() error { return e.cause }

// pebbleLogger is the Logger given to Pebble. Pebble reports the errors
// it cannot return, a failed WAL write or sync among them, through
// Fatalf, whose default implementation exits the process; and when
// Fatalf returns, DB.Apply reports success. So Fatalf here records a
// failure, which every committing call checks after its commit, and logs
// it.
type pebbleLogger struct {
	log     *slog.Logger
	failure *failure
}

// Infof logs Pebble's informational messages at Debug level.
func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

// Errorf logs Pebble's errors, such as failed background compactions,
// which Pebble retries without losing data.
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf records a failure and logs it. It does not exit.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	err := &fatalError{msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if cause, ok := a.(error); ok {
			err.cause = cause
			break
		}
	}
	l.failure.record(err)
	l.log.Error("storage failed: "+err.msg, "component", "pebble")
}
