package transporttest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// waitTimeout bounds every wait for a message. It is generous: the suite
// runs under -race on small machines, with messages of several MiB.
const waitTimeout = 10 * time.Second

// harness is one subtest's transport.
type harness struct {
	t    *testing.T
	tr   chain.Transport
	addr func() string
}

// listen opens an endpoint at a fresh address, closed when the test ends.
func (h *harness) listen() chain.Endpoint {
	h.t.Helper()
	ep, err := h.tr.Listen(h.addr())
	require.NoError(h.t, err, "Listen")
	require.NotNil(h.t, ep)
	require.NotEmpty(h.t, ep.Addr())
	h.t.Cleanup(func() { _ = ep.Close() })
	return ep
}

// client opens a client endpoint, closed when the test ends.
func (h *harness) client() chain.Endpoint {
	h.t.Helper()
	ep, err := h.tr.Listen("")
	require.NoError(h.t, err, "Listen(\"\")")
	require.NotNil(h.t, ep)
	require.NotEmpty(h.t, ep.Addr())
	h.t.Cleanup(func() { _ = ep.Close() })
	return ep
}

// send sends msg and requires success.
func send(t *testing.T, from chain.Endpoint, to string, msg chain.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, from.Send(ctx, to, msg), "Send from %s to %s", from.Addr(), to)
}

// req returns a small ClientRequest with the given ID.
func req(id uint64) *wire.ClientRequest {
	return &wire.ClientRequest{Op: wire.OpAppend, ID: id, Data: []byte("x")}
}

// recv waits for one message on ep.
func recv(t *testing.T, ep chain.Endpoint) chain.Inbound {
	t.Helper()
	in := Receive(t, ep, waitTimeout)
	require.NotNil(t, in.Msg, "%s: nil message from %s", ep.Addr(), in.From)
	return in
}

// Listen opens an endpoint at addr on tr, closed when the test ends; a
// failure to listen fails t.
func Listen(t testing.TB, tr chain.Transport, addr string) chain.Endpoint {
	t.Helper()
	ep, err := tr.Listen(addr)
	require.NoError(t, err, "Listen(%q)", addr)
	t.Cleanup(func() { _ = ep.Close() })
	return ep
}

// RequireNone requires that nothing arrives on ep for d (a closed Receive
// channel passes).
func RequireNone(t testing.TB, ep chain.Endpoint, d time.Duration) {
	t.Helper()
	select {
	case in, ok := <-ep.Receive():
		if ok {
			t.Fatalf("%s: unexpected message from %s: %#v", ep.Addr(), in.From, in.Msg)
		}
	case <-time.After(d):
	}
}

// Receive returns the next message on ep; t fails if ep's Receive channel
// closes, or if nothing arrives within d.
func Receive(t testing.TB, ep chain.Endpoint, d time.Duration) chain.Inbound {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case in, ok := <-ep.Receive():
		if !ok {
			t.Fatalf("%s: Receive channel closed", ep.Addr())
		}
		return in
	case <-timer.C:
		t.Fatalf("%s: no message within %v", ep.Addr(), d)
		return chain.Inbound{}
	}
}

// recvFrom waits for one message on ep, requires it to come from from, and
// returns it.
func recvFrom(t *testing.T, ep chain.Endpoint, from string) chain.Message {
	t.Helper()
	in := recv(t, ep)
	require.Equal(t, from, in.From, "%s: sender address", ep.Addr())
	return in.Msg
}

// recvIDs receives count ClientRequests from from on ep and returns their
// IDs in arrival order.
func recvIDs(t *testing.T, ep chain.Endpoint, from string, count int) []uint64 {
	t.Helper()
	ids := make([]uint64, 0, count)
	for range count {
		ids = append(ids, requestID(t, recvFrom(t, ep, from)))
	}
	return ids
}

// requestID returns the ID of a ClientRequest or ClientResponse.
func requestID(t *testing.T, m chain.Message) uint64 {
	t.Helper()
	switch m := m.(type) {
	case *wire.ClientRequest:
		return m.ID
	case *wire.ClientResponse:
		return m.ID
	}
	t.Fatalf("got %T, want a ClientRequest or ClientResponse", m)
	return 0
}

// seq returns [from, from+n).
func seq(from uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = from + uint64(i)
	}
	return s
}

// errs collects failures from goroutines other than the test's, which must
// not call t.FailNow.
type errs chan error

func newErrs(n int) errs { return make(errs, n) }

func (e errs) add(format string, args ...any) {
	select {
	case e <- fmt.Errorf(format, args...):
	default: // enough failures recorded already
	}
}

// check fails t with every collected failure.
func (e errs) check(t *testing.T) {
	t.Helper()
	var all []error
	for {
		select {
		case err := <-e:
			all = append(all, err)
		default:
			require.NoError(t, errors.Join(all...))
			return
		}
	}
}
