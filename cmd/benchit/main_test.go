package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/benchload"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/transport/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noEnv(string) string { return "" }

func TestParseFlagsDefaults(t *testing.T) {
	f, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 2, f.Workers)
	require.Equal(t, 50, f.Inflight)
	require.Equal(t, 100, f.Size)
	require.Equal(t, 10*time.Second, f.Duration)
	require.Zero(t, f.Count)
	require.Zero(t, f.query)
	require.Equal(t, time.Second, f.Progress)
	require.Empty(t, f.members)
	require.Equal(t, 3, f.nodes)
}

func TestParseFlagsMembersFromEnv(t *testing.T) {
	env := func(k string) string {
		if k == "CHAIN_MEMBERS" {
			return "n1=127.0.0.1:1"
		}
		return ""
	}
	f, err := parseFlags(nil, env, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "n1=127.0.0.1:1", f.members)

	f, err = parseFlags([]string{"-members", "a=127.0.0.1:2"}, env, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, "a=127.0.0.1:2", f.members, "the flag wins over the environment")

	_, err = parseFlags([]string{"-data", t.TempDir()}, env, &bytes.Buffer{})
	require.ErrorContains(t, err, "local chain", "-data with members from the environment")
}

func TestParseFlagsProgressWithJSON(t *testing.T) {
	f, err := parseFlags([]string{"-json"}, noEnv, &bytes.Buffer{})
	require.NoError(t, err)
	require.Zero(t, f.Progress, "-json turns the progress line off")
	f, err = parseFlags([]string{"-json", "-progress", "2s"}, noEnv, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, f.Progress, "unless asked for")
}

func TestParseFlagsInvalid(t *testing.T) {
	for _, args := range [][]string{
		{"-w", "0"},
		{"-c", "0"},
		{"-c", "100000"},
		{"-size", "-1"},
		{"-size", "2000000"},
		{"-d", "0"},
		{"-d", "-1s"},
		{"-n", "-5"},
		{"-query", "-0.1"},
		{"-query", "1.5"},
		{"-query", "NaN"},
		{"-timeout", "0"},
		{"-progress", "-1s"},
		{"-nosync"},
		{"-nodes", "0"},
		{"-members", "n1=127.0.0.1:1", "-data", "/tmp"},
		{"-members", "n1=127.0.0.1:1", "-nodes", "2"},
		{"-members", "n1=127.0.0.1:1", "-nodestats"},
		{"-chains", "-1"},
		{"-chains", "5000"},
		{"-chains", "2", "-members", "n1=127.0.0.1:1"},
		{"-chains", "2", "-nodes", "2"},
		{"-chains", "2", "-servers", "0"},
		{"-master", "127.0.0.1:1", "-members", "n1=127.0.0.1:1"},
		{"-master", "127.0.0.1:1", "-chains", "2"},
		{"-master", "127.0.0.1:1", "-data", "/tmp"},
		{"-tls-cert", "c.pem", "-tls-key", "k.pem", "-tls-ca", "ca.pem"},
		{"-chains", "2", "-tls-ca", "ca.pem"},
		{"extra"},
		{"-bogus"},
	} {
		_, err := parseFlags(args, noEnv, &bytes.Buffer{})
		require.Error(t, err, "args %q", args)
	}
	// -n wins over -d, so a zero -d is fine with it.
	_, err := parseFlags([]string{"-n", "10", "-d", "0"}, noEnv, &bytes.Buffer{})
	require.NoError(t, err)
}

// TestRunTLSFilesRead: with -tls-*, a remote run loads the files before
// it contacts anything, and says which one it could not read.
func TestRunTLSFilesRead(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-master", "127.0.0.1:1", "-tls-cert", dir + "/c.pem",
		"-tls-key", dir + "/k.pem", "-tls-ca", dir + "/ca.pem", "-n", "1"}, &stdout, &stderr)
	require.ErrorContains(t, err, "load key pair")
	err = run(context.Background(), []string{"-members", "n1=127.0.0.1:1", "-tls-ca", dir + "/ca.pem", "-n", "1"}, &stdout, &stderr)
	require.ErrorContains(t, err, "need a certificate, a key and a CA file together")
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, out.String(), "-members")
}

func TestBadMembers(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-members", "nonsense", "-n", "1"}, &out, &out)
	require.Error(t, err)
}

// summary is the part of the JSON summary the tests check.
type summary struct {
	Mode        string   `json:"mode"`
	OpsPerSec   float64  `json:"ops_per_sec"`
	Ops         int64    `json:"ops"`
	Errors      int64    `json:"errors"`
	DurationSec float64  `json:"duration_sec"`
	Workers     int      `json:"workers"`
	Inflight    int      `json:"inflight"`
	Size        int      `json:"size"`
	Queries     int64    `json:"queries"`
	P50Ms       *float64 `json:"p50_ms"`
	P90Ms       *float64 `json:"p90_ms"`
	P99Ms       *float64 `json:"p99_ms"`
	P999Ms      *float64 `json:"p999_ms"`
	MaxMs       *float64 `json:"max_ms"`
}

// runJSON runs benchit with -json and the args and decodes its summary.
func runJSON(t *testing.T, args ...string) summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"-json"}, args...), &stdout, &stderr)
	require.NoError(t, err, "stderr: %s", stderr.String())
	require.Equal(t, 1, bytes.Count(stdout.Bytes(), []byte("\n")), "one JSON line: %q", stdout.String())
	var s summary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &s), "stdout: %s", stdout.String())
	for name, p := range map[string]*float64{"p50": s.P50Ms, "p90": s.P90Ms, "p99": s.P99Ms, "p999": s.P999Ms, "max": s.MaxMs} {
		require.NotNil(t, p, "%s_ms missing", name)
		require.Positive(t, *p, "%s_ms", name)
	}
	require.LessOrEqual(t, *s.P50Ms, *s.P90Ms)
	require.LessOrEqual(t, *s.P90Ms, *s.P99Ms)
	require.LessOrEqual(t, *s.P99Ms, *s.P999Ms)
	require.LessOrEqual(t, *s.P999Ms, *s.MaxMs)
	return s
}

// TestRunLocal runs benchit on each kind of local cluster it starts: the
// summary names the mode and counts every operation, none failed; about
// the share of queries asked for are queries (within many standard
// deviations); a run with -data removes its data directory.
func TestRunLocal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		mode    string
		ops     uint64
		queries float64 // expected queries, ± a quarter of them
		data    bool
	}{
		{"appends", []string{"-n", "2000", "-w", "2", "-c", "16"}, "chain-mem", 2000, 0, false},
		{"queries", []string{"-n", "2000", "-w", "2", "-c", "16", "-query", "0.5"}, "chain-mem", 2000, 1000, false},
		{"pebble", []string{"-n", "300", "-w", "1", "-c", "8", "-nosync", "-size", "10"}, "chain-pebble-nosync", 300, 0, true},
		{"partitioned", []string{"-chains", "4", "-servers", "3", "-n", "2000", "-w", "2", "-c", "16", "-query", "0.3"},
			"partitioned-4-mem", 2000, 600, false},
		{"partitioned on pebble", []string{"-chains", "2", "-servers", "3", "-n", "200", "-w", "1", "-c", "8", "-nosync"},
			"partitioned-2-pebble-nosync", 200, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, dir := tc.args, t.TempDir()
			if tc.data {
				args = append(args, "-data", dir)
			}
			s := runJSON(t, args...)
			require.Equal(t, tc.mode, s.Mode)
			require.EqualValues(t, tc.ops, s.Ops)
			require.Zero(t, s.Errors)
			require.Positive(t, s.OpsPerSec)
			require.Positive(t, s.DurationSec)
			require.InDelta(t, tc.queries, s.Queries, tc.queries/4)
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, left, "the run removes its data directory")
		})
	}
}

// TestRunLocalDefaults: a summary reports the run's workers, calls in
// flight and entry size, 100 bytes unless -size says otherwise.
func TestRunLocalDefaults(t *testing.T) {
	s := runJSON(t, "-n", "200", "-w", "2", "-c", "16")
	require.Equal(t, 2, s.Workers)
	require.Equal(t, 16, s.Inflight)
	require.Equal(t, 100, s.Size)
	require.Equal(t, 10, runJSON(t, "-n", "20", "-w", "1", "-c", "1", "-size", "10").Size)
}

// TestRunThroughTheMasterOfOneChain loads a chain that a master of one
// chain manages, given only the master's address: benchit asks the
// master for its layout and its clients follow the chain through it.
func TestRunThroughTheMasterOfOneChain(t *testing.T) {
	addrs, err := launch.FreeLocalMembers(4) // three nodes and the master
	require.NoError(t, err)
	tr := tcp.New(tcp.Options{})
	defer func() { require.NoError(t, tr.Close()) }()
	lc, err := launch.StartChain(context.Background(), launch.ChainConfig{
		Config: chain.Config{Epoch: 1, Members: addrs[:3]}, Transport: tr, MasterAddr: addrs[3].Addr})
	require.NoError(t, err)
	defer func() { require.NoError(t, lc.Close()) }()

	s := runJSON(t, "-master", addrs[3].Addr, "-n", "300", "-w", "1", "-c", "8", "-query", "0.3")
	require.Equal(t, "chain-remote-master", s.Mode)
	require.EqualValues(t, 300, s.Ops)
	require.Zero(t, s.Errors)
	require.Positive(t, s.Queries)
}

func TestRunDurationWithProgress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-d", "300ms", "-w", "1", "-c", "4", "-progress", "100ms", "-nodestats"}, &stdout, &stderr)
	require.NoError(t, err)
	require.Contains(t, stdout.String(), "ops/s")
	require.Contains(t, stderr.String(), "\r")
	require.Contains(t, stderr.String(), "node n1 (head): ")
	require.Contains(t, stderr.String(), "refused 0")
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"-d", "1m", "-w", "1", "-c", "4", "-json"}, &stdout, &stderr)
	require.NoError(t, err, "stderr: %s", stderr.String())
	require.Less(t, time.Since(start), 20*time.Second)
	var s summary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &s))
	require.Zero(t, s.Errors, "interrupted operations are not errors")
}

// TestWorkerCountsErrors runs a worker against a chain that is not there:
// every operation times out and is counted as an error, none is recorded
// as a latency, and the first error is kept.
func TestWorkerCountsErrors(t *testing.T) {
	members, err := launch.FreeLocalMembers(1) // free, so nobody listens
	require.NoError(t, err)
	cfg := chain.Config{Epoch: 1, Members: members}
	w, err := newWorker(loadTarget{cfg: cfg}, 2, 1)
	require.NoError(t, err)
	defer func() { require.NoError(t, w.Close()) }()
	l := &load{payload: []byte("x"), timeout: 20 * time.Millisecond, Budget: benchload.NewBudget(5)}
	stopWatching := watchDeadlines(l.timeout, []*worker{w})
	var wg sync.WaitGroup
	for _, s := range w.slots {
		wg.Go(func() { w.run(context.Background(), s, l) })
	}
	wg.Wait()
	stopWatching()
	done, failed := w.Progress()
	require.EqualValues(t, 5, done)
	require.EqualValues(t, 5, failed)
	sum := summarize(flags{Flags: benchload.Flags{Workers: 1, Inflight: 2, Size: 1}}, "test", []*worker{w}, benchload.Span{Elapsed: time.Second})
	require.EqualValues(t, 5, sum.Errors)
	require.Zero(t, sum.Ops)
	require.Zero(t, sum.OpsPerSec)
	require.Contains(t, sum.FirstError, errTimedOut.Error())
}
