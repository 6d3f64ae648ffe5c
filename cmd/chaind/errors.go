package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"syscall"
)

// explain turns a startup error whose cause an operator can act on into
// one that names it: an address another process listens on, or a data
// directory (under dataDir, -data) that another process holds. Other
// errors are returned as they are. The result wraps err.
func explain(err error, dataDir string) error {
	if err == nil {
		return nil
	}
	var op *net.OpError
	if errors.Is(err, syscall.EADDRINUSE) && errors.As(err, &op) && op.Addr != nil {
		return &explained{fmt.Sprintf("listen on %s: address already in use (another process, maybe another chaind, listens there)", op.Addr), err}
	}
	if dataDir != "" && lockFailure(err) {
		dir, pid := lockHolder(dataDir)
		if dir == "" {
			return &explained{fmt.Sprintf("a data directory under %s is locked: another process (maybe another chaind with the same -data) uses it", dataDir), err}
		}
		by := "another process"
		if pid > 0 {
			by = fmt.Sprintf("process %d", pid)
		}
		return &explained{fmt.Sprintf("data directory %s is locked by %s: another chaind may run on it (stop it, or give this one another -data)", dir, by), err}
	}
	return err
}

// explained is an error with a message of its own that wraps its cause.
type explained struct {
	msg   string
	cause error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.cause }

// lockFailure reports whether err is the failure to take a file lock
// another process holds (Pebble's LOCK file, an fcntl lock).
func lockFailure(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) && strings.Contains(err.Error(), "lock")
}

// lockHolder finds, under dir (at most three levels down), a Pebble LOCK
// file that another process holds, and returns its directory and the
// holder's process id (0 when the system does not say). It returns ""
// when it finds none.
func lockHolder(dir string) (string, int) {
	var found string
	var pid int
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, relErr := filepath.Rel(dir, path)
		if relErr == nil && d.IsDir() && strings.Count(rel, string(filepath.Separator)) >= 3 {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "LOCK" {
			return nil
		}
		if held, p := lockedBy(path); held {
			found, pid = filepath.Dir(path), p
			return filepath.SkipAll
		}
		return nil
	})
	return found, pid
}
