package kv_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/kv"
)

// pipeListener is a net.Listener whose connections are in-memory pipes,
// so a server runs inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

// TestHTTPShortBody: a PUT whose body stops short of its Content-Length
// gets 408 once the request timeout passes, instead of holding the
// handler forever. In the bubble, time moves only when every goroutine
// waits: without the read deadline, the handler and the client would
// both wait for ever and synctest reports the deadlock.
func TestHTTPShortBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newPipeListener()
		srv := &http.Server{Handler: kv.NewHTTPHandler(kv.NewClient(nil), kv.WithRequestTimeout(time.Second))}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()

		c := ln.dial()
		go func() { _, _ = fmt.Fprint(c, "PUT /kv/k HTTP/1.1\r\nHost: kv\r\nContent-Length: 10\r\n\r\nabc") }()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "body: %s", body)
		require.Contains(t, string(body), "request body not received in time within 1s (3 of 10 bytes)")

		require.NoError(t, c.Close())
		require.NoError(t, srv.Shutdown(context.Background()))
		require.True(t, errors.Is(<-served, http.ErrServerClosed))
	})
}
