//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// holdLockEnv names the file a re-executed test binary locks (see
// holdLock) instead of running the tests.
const holdLockEnv = "CHAIND_TEST_HOLD_LOCK"

// holdLock, in a child process, takes an fcntl write lock on the file
// the environment names (as Pebble locks its LOCK file), says "locked"
// and holds it until its stdin closes.
func holdLock() {
	path := os.Getenv(holdLockEnv)
	f, err := os.Create(path)
	if err == nil {
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
		err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestLockedDataDirectory: a node whose data directory another process
// holds fails naming the directory and the process, not "resource
// temporarily unavailable".
func TestLockedDataDirectory(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "n1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holdLockEnv+"="+filepath.Join(dir, "LOCK"))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	err = run(context.Background(), []string{"-id", "n1", "-members", "n1=127.0.0.1:1", "-data", data, "-log-level", "error"}, io.Discard)
	require.EqualError(t, err, fmt.Sprintf("data directory %s is locked by process %d: another chaind may run on it (stop it, or give this one another -data)",
		dir, cmd.Process.Pid))
	require.ErrorIs(t, err, syscall.EAGAIN, "the cause stays wrapped")
}

// TestAddressInUse: a master whose address another process listens on
// fails with one line naming the address, and start master is said once.
func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	addr := ln.Addr().String()
	err = run(context.Background(), []string{"-master", "-listen", addr, "-members", "n1=127.0.0.1:1", "-log-level", "error"}, io.Discard)
	require.EqualError(t, err, "listen on "+addr+": address already in use (another process, maybe another chaind, listens there)")

	// An error with no explanation says "start master" once.
	err = run(context.Background(), []string{"-master", "-listen", "127.0.0.1:0", "-raft", "notanaddr", "-members", "n1=127.0.0.1:1", "-log-level", "error"}, io.Discard)
	require.ErrorContains(t, err, "start master: raft transport: ")
	require.NotContains(t, err.Error(), "start master: start master")
}

func TestExplain(t *testing.T) {
	inUse := &net.OpError{Op: "listen", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7000},
		Err: &os.SyscallError{Syscall: "bind", Err: syscall.EADDRINUSE}}
	wrapped := fmt.Errorf("start master: listen: %w", inUse)
	locked := fmt.Errorf("open raft log /x/raft: %w", syscall.EAGAIN)
	other := errors.New("something else")
	empty := t.TempDir()
	tests := []struct {
		err  error
		data string
		want string
	}{
		{nil, "", ""},
		{wrapped, "", "listen on 127.0.0.1:7000: address already in use (another process, maybe another chaind, listens there)"},
		{locked, empty, "a data directory under " + empty + " is locked: another process (maybe another chaind with the same -data) uses it"},
		{locked, "", locked.Error()}, // no -data: not a data directory
		{other, empty, "something else"},
	}
	for _, tc := range tests {
		got := explain(tc.err, tc.data)
		if tc.want == "" {
			require.NoError(t, got)
			continue
		}
		require.EqualError(t, got, tc.want)
		require.ErrorIs(t, got, tc.err)
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, out.String(), "-failure-timeout")
	out.Reset()
	err = run(context.Background(), []string{"-bogus"}, &out)
	require.EqualError(t, err, "flag provided but not defined: -bogus (chaind -h lists the flags)")
	require.Empty(t, out.String(), "a bad flag prints one line (the error), not the usage")
}
