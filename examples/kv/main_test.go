package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunDemo(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, run(ctx, &out, slog.New(slog.DiscardHandler), "", ""))
	got := out.String()
	for _, want := range []string{
		"started chain n1 -> n2 -> n3 (epoch 1)",
		`get    greeting -> "hello" (found=true)`,
		"swapped=true",
		"swapped=false (value had changed)",
		"delete color: existed=true",
		"get    color -> found=false",
		"node n1 (head): 2 keys",
		"node n3 (tail): 2 keys",
		"all replicas hold the same data",
		"closed the client, the nodes and the network",
	} {
		require.Contains(t, got, want)
	}
}

func TestRunServesHTTPUntilCancelled(t *testing.T) {
	out := &notifyWriter{lines: make(chan string, 100)}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, out, slog.New(slog.DiscardHandler), "", "127.0.0.1:0") }()

	addr := waitForAddr(t, out.lines, done)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/kv/greeting")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "hello, world", string(body), "the demo's writes are visible over HTTP")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	require.Contains(t, out.String(), "shutting down")
}

// TestRunFailsOnBadAddress: an address that cannot be bound (malformed,
// or in use) fails before the chain starts and the demo runs.
func TestRunFailsOnBadAddress(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), &out, slog.New(slog.DiscardHandler), "", "not an address")
	require.ErrorContains(t, err, "serve http")
	require.Empty(t, out.String(), "the demo ran before the port was bound")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(t.Context(), &out, slog.New(slog.DiscardHandler), "", ln.Addr().String())
	require.ErrorContains(t, err, "address already in use")
	require.Empty(t, out.String(), "the demo ran before the port was bound")
}

// waitForAddr returns the address from run's "serving" line.
func waitForAddr(t *testing.T, lines <-chan string, done <-chan error) string {
	t.Helper()
	re := regexp.MustCompile(`serving HTTP API on http://([^/]+)/`)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case err := <-done:
			t.Fatalf("run returned before serving: %v", err)
		case <-timeout:
			t.Fatal("run did not start serving")
		}
	}
}

// notifyWriter records what is written and sends each write on lines.
type notifyWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.lines <- string(p):
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestDemoOnPebbleRecoversItsData(t *testing.T) {
	dir := t.TempDir()
	var first, second bytes.Buffer
	require.NoError(t, run(t.Context(), &first, slog.New(slog.DiscardHandler), dir, ""))
	require.Contains(t, first.String(), "recovered 0 keys")
	require.NoError(t, run(t.Context(), &second, slog.New(slog.DiscardHandler), dir, ""))
	require.Contains(t, second.String(), "recovered 2 keys")
	require.Contains(t, second.String(), "all replicas hold the same data")
}
