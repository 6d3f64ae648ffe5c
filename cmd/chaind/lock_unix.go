//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"io"
	"os"
	"syscall"
)

// lockedBy reports whether another process holds an fcntl write lock on
// the file at path (as Pebble locks its LOCK file), and that process's id.
func lockedBy(path string) (bool, int) {
	f, err := os.Open(path)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, 0
	}
	if lk.Type == syscall.F_UNLCK {
		return false, 0
	}
	return true, int(lk.Pid)
}
