package chain_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/wire"
)

// TestRequestBatchIsTakenAsSeparateRequests sends the head one
// RequestBatch: each request in it is admitted, ordered and answered on its
// own (a bad one refused without harming the others), in the batch's order.
func TestRequestBatchIsTakenAsSeparateRequests(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 3})
	ep := rawEndpoint(t, c, "")
	batch := &wire.RequestBatch{Requests: []wire.ClientRequest{
		{Op: wire.OpAppend, ID: 1, Session: 7, Acked: 1, Data: []byte("a")},
		{Op: wire.OpAppend, ID: 2, Session: 7, Acked: 1, Data: []byte("b")},
		{Op: wire.OpAppend, ID: 0, Session: 7, Acked: 1, Data: []byte("bad id")},
		{Op: wire.OpAppend, ID: 3, Session: 7, Acked: 1, Data: []byte("c")},
	}}
	require.NoError(t, ep.Send(testCtx(t), c.Addr(0), batch))

	got := receiveResponses(t, ep, 4, nil)
	require.ErrorIs(t, got[0].Err, chain.ErrInvalidArgument, "request id 0 is refused")
	for i, id := range []uint64{1, 2, 3} {
		require.Nil(t, got[id].Err, "request %d", id)
		require.Equal(t, uint64(i+1), got[id].Offset, "request %d is ordered as it came in the batch", id)
	}
	ents, err := c.Node(2).Log().Read(testCtx(t), 1, 10)
	require.NoError(t, err)
	require.Len(t, ents, 3)
	for i, want := range []string{"a", "b", "c"} {
		require.Equal(t, want, string(ents[i].Data))
	}
}

// TestResponseBatchesStayWithinTheBatchBytes: the tail splits the replies
// to one client into ResponseBatches of at most its batch bytes of results.
func TestResponseBatchesStayWithinTheBatchBytes(t *testing.T) {
	const result, limit, commands = 1000, 4096, 16
	c := chaintest.Start(t, chaintest.Options{Nodes: 2,
		NodeOptions: []chain.NodeOption{chain.WithMaxEntrySize(result), chain.WithMaxBatchBytes(limit)},
		Setup: func(_ int, n *chain.Node) error {
			return n.Handle("big", func(context.Context, chain.Entry) ([]byte, error) { return make([]byte, result), nil })
		}})
	tap := &tapTransport{Transport: c.Network()}
	ep, err := tap.Listen("")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ep.Close() })
	const maxRounds = 20
	for round := 0; round < maxRounds && tap.count(wire.KindResponseBatch) == 0; round++ {
		batch := &wire.RequestBatch{}
		for i := range commands {
			id := uint64(round*commands + i + 1)
			batch.Requests = append(batch.Requests, wire.ClientRequest{Op: wire.OpCommand, ID: id, Session: 3, Acked: id, Name: "big"})
		}
		require.NoError(t, ep.Send(testCtx(t), c.Addr(0), batch))
		receiveBigResults(t, ep, commands, result, limit)
	}
	require.Positive(t, tap.count(wire.KindResponseBatch), "no replies came together in %d rounds", maxRounds)
}

// receiveBigResults receives n successful responses with results of the
// given size, checking that no ResponseBatch carries more than limit bytes
// of results.
func receiveBigResults(t *testing.T, ep chain.Endpoint, n, result, limit int) {
	t.Helper()
	got := receiveResponses(t, ep, n, func(b *wire.ResponseBatch) {
		bytes := 0
		for _, r := range b.Responses {
			bytes += len(r.Result)
		}
		require.LessOrEqual(t, bytes, limit, "results in one ResponseBatch")
	})
	for _, r := range got {
		require.Nil(t, r.Err)
		require.Len(t, r.Result, result)
	}
}

// receiveResponses collects responses, alone or in ResponseBatches, until
// n have arrived, passing each ResponseBatch to onBatch if it is not nil;
// it returns them by request ID.
func receiveResponses(t *testing.T, ep chain.Endpoint, n int, onBatch func(*wire.ResponseBatch)) map[uint64]*wire.ClientResponse {
	t.Helper()
	got := map[uint64]*wire.ClientResponse{}
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case in := <-ep.Receive():
			switch m := in.Msg.(type) {
			case *wire.ClientResponse:
				got[m.ID] = m
			case *wire.ResponseBatch:
				if onBatch != nil {
					onBatch(m)
				}
				for i := range m.Responses {
					got[m.Responses[i].ID] = &m.Responses[i]
				}
			}
		case <-timeout:
			t.Fatalf("%d of %d responses arrived", len(got), n)
		}
	}
	return got
}

// TestConcurrentCallsTravelInBatches runs many concurrent appends through
// one client and watches what its endpoint sends: the requests of
// concurrent calls go out together in RequestBatches, the tail answers
// them in ResponseBatches, and every append is acknowledged once at its
// own offset.
func TestConcurrentCallsTravelInBatches(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 3})
	tap := &tapTransport{Transport: c.Network()}
	cl := c.Client(chain.WithTransport(tap))
	ctx := testCtx(t)

	const calls, maxRounds = 64, 20
	offsets := map[uint64]bool{}
	for round := 0; round < maxRounds && (tap.count(wire.KindRequestBatch) == 0 || tap.count(wire.KindResponseBatch) == 0); round++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				off, err := cl.Append(ctx, fmt.Appendf(nil, "r%d-%d", round, i))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				if offsets[off] {
					t.Errorf("offset %d acknowledged twice", off)
				}
				offsets[off] = true
			})
		}
		wg.Wait()
	}
	require.Positive(t, tap.count(wire.KindRequestBatch), "no requests were sent together in %d rounds of %d concurrent appends", maxRounds, calls)
	require.Positive(t, tap.count(wire.KindResponseBatch), "no responses arrived together in %d rounds of %d concurrent appends", maxRounds, calls)
	latest, err := cl.Latest(ctx)
	require.NoError(t, err)
	require.Len(t, offsets, int(latest), "every acknowledged append has its own offset, and every entry was acknowledged")
}

// TestRequestBatchesStayWithinTheBatchBytes: a client that sends large
// requests concurrently never puts more than its batch bytes of payload in
// one RequestBatch, and every request still goes through.
func TestRequestBatchesStayWithinTheBatchBytes(t *testing.T) {
	const entry, limit = 1000, 4096
	c := chaintest.Start(t, chaintest.Options{Nodes: 2})
	tap := &tapTransport{Transport: c.Network()}
	cl := c.Client(chain.WithTransport(tap), chain.WithMaxBatchBytes(limit))
	ctx := testCtx(t)
	const calls, maxRounds = 64, 20
	rounds := 0
	for ; rounds < maxRounds && tap.count(wire.KindRequestBatch) == 0; rounds++ {
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				if _, err := cl.Append(ctx, make([]byte, entry)); err != nil {
					t.Errorf("append: %v", err)
				}
			})
		}
		wg.Wait()
	}
	latest, err := cl.Latest(ctx)
	require.NoError(t, err)
	require.EqualValues(t, rounds*calls, latest)
	require.Positive(t, tap.maxBatchBytes, "some requests were sent together")
	require.LessOrEqual(t, tap.maxBatchBytes, limit)
}

// tapTransport counts the kinds of the messages its endpoints send and
// receive, and keeps the largest payload of a RequestBatch sent.
type tapTransport struct {
	chain.Transport
	mu            sync.Mutex
	kinds         map[wire.MessageKind]int
	maxBatchBytes int
}

func (t *tapTransport) Listen(addr string) (chain.Endpoint, error) {
	ep, err := t.Transport.Listen(addr)
	if err != nil {
		return nil, err
	}
	tapped := &tapEndpoint{Endpoint: ep, tap: t, in: make(chan chain.Inbound)}
	go tapped.forward()
	return tapped, nil
}

func (t *tapTransport) note(k wire.MessageKind) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.kinds == nil {
		t.kinds = map[wire.MessageKind]int{}
	}
	t.kinds[k]++
}

func (t *tapTransport) count(k wire.MessageKind) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kinds[k]
}

type tapEndpoint struct {
	chain.Endpoint
	tap *tapTransport
	in  chan chain.Inbound
}

func (e *tapEndpoint) Send(ctx context.Context, to string, msg chain.Message) error {
	e.tap.note(msg.Kind())
	if b, ok := msg.(*wire.RequestBatch); ok {
		bytes := 0
		for _, r := range b.Requests {
			bytes += len(r.Data)
		}
		e.tap.mu.Lock()
		e.tap.maxBatchBytes = max(e.tap.maxBatchBytes, bytes)
		e.tap.mu.Unlock()
	}
	return e.Endpoint.Send(ctx, to, msg)
}

func (e *tapEndpoint) Receive() <-chan chain.Inbound { return e.in }

// forward passes on what the endpoint receives until it closes.
func (e *tapEndpoint) forward() {
	defer close(e.in)
	for in := range e.Endpoint.Receive() {
		e.tap.note(in.Msg.Kind())
		e.in <- in
	}
}

// TestHeadStreamsWithinItsWindow stands in for the tail of a 2-node chain
// and pulls once: the head sends each new entry as it arrives, without
// waiting for another pull, until four responses are unacknowledged; then
// it sends nothing more until a pull acknowledges some, and then goes on
// from where it was. It runs in a synctest bubble: once the real tail is
// killed, synctest.Wait lets its last pull reach the head before the test
// pulls, so a late pull of the old tail's session (which restarts the
// stream from its Next) cannot arrive in the middle of the test.
func TestHeadStreamsWithinItsWindow(t *testing.T) {
	synctest.Test(t, testHeadStreamsWithinItsWindow)
}

func testHeadStreamsWithinItsWindow(t *testing.T) {
	c := chaintest.Start(t, chaintest.Options{Nodes: 2,
		// No keepalive responses during the test: the window holds only
		// entries.
		NodeOptions: []chain.NodeOption{chain.WithPollInterval(time.Minute)}})
	c.Kill(1)
	synctest.Wait()
	tail := rawEndpoint(t, c, c.Addr(1))
	client := rawEndpoint(t, c, "")
	head, epoch := c.Addr(0), c.Config().Epoch
	ctx := testCtx(t)

	pull := func(next uint64, restart bool) {
		t.Helper()
		require.NoError(t, tail.Send(ctx, head, &wire.PullRequest{Epoch: epoch, Run: 7, Next: next, Restart: restart}))
	}
	appendOne := func(id uint64) {
		t.Helper()
		require.NoError(t, client.Send(ctx, head, &wire.ClientRequest{Op: wire.OpAppend, ID: id, Session: 3, Acked: 1, Data: []byte{byte(id)}}))
	}
	// nextResponse returns the next pull response with entries, or nil if
	// none comes within wait.
	nextResponse := func(wait time.Duration) *wire.PullResponse {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case in := <-tail.Receive():
				if r, ok := in.Msg.(*wire.PullResponse); ok && len(r.Entries) > 0 {
					return r
				}
			case <-timeout:
				return nil
			}
		}
	}

	pull(1, true)
	for off := uint64(1); off <= 4; off++ {
		appendOne(off)
		r := nextResponse(10 * time.Second)
		require.NotNil(t, r, "entry %d is sent without another pull", off)
		require.Equal(t, off, r.From)
		require.Len(t, r.Entries, 1)
	}
	appendOne(5)
	require.Nil(t, nextResponse(300*time.Millisecond), "four responses unacknowledged: the window is full")

	pull(3, false) // acknowledges the responses of entries 1 and 2
	r := nextResponse(10 * time.Second)
	require.NotNil(t, r, "an acknowledgment reopens the window")
	require.Equal(t, uint64(5), r.From, "the stream goes on where it was")
}
