package kv_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

// httpServer serves kv's HTTP API until the end of the test.
func httpServer(t *testing.T, kvc *kv.Client, opts ...kv.HTTPOption) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(kv.NewHTTPHandler(kvc, opts...))
	t.Cleanup(srv.Close)
	return srv
}

// call sends one request and returns the status and body.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestHTTP(t *testing.T) {
	cl := startChain(t)
	srv := httpServer(t, cl.KV, kv.WithMaxValueBytes(64))

	code, _ := call(t, srv, http.MethodGet, "/kv/a", "")
	require.Equal(t, http.StatusNotFound, code)

	code, _ = call(t, srv, http.MethodPut, "/kv/a", "hello")
	require.Equal(t, http.StatusNoContent, code)
	code, body := call(t, srv, http.MethodGet, "/kv/a", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "hello", body)

	code, _ = call(t, srv, http.MethodPut, "/kv/dir%2Ffile", "slash")
	require.Equal(t, http.StatusNoContent, code)
	v, found, err := cl.KV.Get(testContext(t), "dir/file")
	require.NoError(t, err)
	require.True(t, found, "an escaped slash is part of the key")
	require.Equal(t, []byte("slash"), v)

	code, body = call(t, srv, http.MethodPost, "/kv/a/cas", `{"expected":"nope","expected_found":true,"value":"x"}`)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"swapped":false}`, body)
	code, body = call(t, srv, http.MethodPost, "/kv/a/cas", `{"expected":"hello","expected_found":true,"value":"world"}`)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"swapped":true}`, body)
	code, body = call(t, srv, http.MethodPost, "/kv/new/cas", `{"expected_found":false,"value":"fresh"}`)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"swapped":true}`, body)

	code, _ = call(t, srv, http.MethodDelete, "/kv/dir%2Ffile", "")
	require.Equal(t, http.StatusNoContent, code)
	code, _ = call(t, srv, http.MethodDelete, "/kv/dir%2Ffile", "")
	require.Equal(t, http.StatusNotFound, code)

	requireReplicas(t, testContext(t), cl, map[string][]byte{"a": []byte("world"), "new": []byte("fresh")})
}

func TestHTTPBadRequests(t *testing.T) {
	cl := startChain(t)
	srv := httpServer(t, cl.KV, kv.WithMaxValueBytes(8))
	longKey := strings.Repeat("k", kv.MaxKeyLen+1)

	tests := []struct {
		name         string
		method, path string
		body         string
		want         int
	}{
		{"value too large", http.MethodPut, "/kv/a", "123456789", http.StatusRequestEntityTooLarge},
		{"key too long", http.MethodPut, "/kv/" + longKey, "v", http.StatusBadRequest},
		{"get key too long", http.MethodGet, "/kv/" + longKey, "", http.StatusBadRequest},
		{"cas not json", http.MethodPost, "/kv/a/cas", "expected=x", http.StatusBadRequest},
		{"cas unknown field", http.MethodPost, "/kv/a/cas", `{"expected_found":false,"value":"v","extra":1}`, http.StatusBadRequest},
		{"cas missing expected_found", http.MethodPost, "/kv/a/cas", `{"value":"v"}`, http.StatusBadRequest},
		{"cas missing value", http.MethodPost, "/kv/a/cas", `{"expected_found":false}`, http.StatusBadRequest},
		{"cas trailing data", http.MethodPost, "/kv/a/cas", `{"expected_found":false,"value":"v"} {}`, http.StatusBadRequest},
		{"cas wrong type", http.MethodPost, "/kv/a/cas", `{"expected_found":"yes","value":"v"}`, http.StatusBadRequest},
		{"cas value too large", http.MethodPost, "/kv/a/cas", `{"expected_found":false,"value":"123456789"}`, http.StatusRequestEntityTooLarge},
		{"method not allowed", http.MethodPost, "/kv/a", "", http.StatusMethodNotAllowed},
		{"no key", http.MethodGet, "/kv/", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, srv, tc.method, tc.path, tc.body)
			require.Equal(t, tc.want, code, body)
		})
	}
	n, err := cl.KV.Len(testContext(t))
	require.NoError(t, err)
	require.Zero(t, n, "no bad request wrote anything")
}

// TestHTTPUnavailable points the handler at a chain nobody serves: the
// request times out and gets 503.
func TestHTTPUnavailable(t *testing.T) {
	net := inmem.New(inmem.Options{})
	t.Cleanup(func() { _ = net.Close() })
	c, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(launch.InmemConfig("gone")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	srv := httpServer(t, kv.NewClient(c), kv.WithRequestTimeout(50*time.Millisecond))

	start := time.Now()
	code, body := call(t, srv, http.MethodGet, "/kv/a", "")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Less(t, time.Since(start), 5*time.Second, "the request timeout applies")
	code, _ = call(t, srv, http.MethodPut, "/kv/a", "v")
	require.Equal(t, http.StatusServiceUnavailable, code)
}

// TestHTTPLargeValueThroughChain stores a value near the default limit.
func TestHTTPLargeValueThroughChain(t *testing.T) {
	cl := startChain(t)
	srv := httpServer(t, cl.KV)
	big := bytes.Repeat([]byte{'x'}, kv.DefaultMaxValueBytes)
	code, body := call(t, srv, http.MethodPut, "/kv/big", string(big))
	require.Equal(t, http.StatusNoContent, code, body)
	code, body = call(t, srv, http.MethodGet, "/kv/big", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, len(big), len(body))
	code, _ = call(t, srv, http.MethodPut, "/kv/big", string(big)+"x")
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
}

// TestHTTPInternalError serves a chain whose node has no kv handlers: the
// chain refuses the command as unknown, which is a server-side fault, so
// the response is a 500 without detail (the detail goes to the log).
func TestHTTPInternalError(t *testing.T) {
	net := inmem.New(inmem.Options{})
	t.Cleanup(func() { _ = net.Close() })
	cfg := launch.InmemConfig("bare")
	node, err := chain.NewNode("bare", chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg))
	require.NoError(t, err)
	require.NoError(t, node.Start(testContext(t)))
	t.Cleanup(func() { _ = node.Close() })
	c, err := chain.NewClient(chain.WithTransport(net), chain.WithConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	logged := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logged, nil))
	srv := httpServer(t, kv.NewClient(c), kv.WithLogger(logger))
	code, body := call(t, srv, http.MethodPut, "/kv/a", "v")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Equal(t, "internal error\n", body)
	require.Contains(t, logged.String(), "unknown command")
}
