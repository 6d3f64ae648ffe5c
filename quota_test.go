package chain_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// TestPendingRequestsArePerConnection: a connection that keeps sending
// queries while the tail's workers are busy queues at most
// WithMaxPendingPerClient of them; the next is refused with ErrBusy at
// once, counted and logged, while another connection's query still
// queues; every query queued is answered once the workers free up.
func TestPendingRequestsArePerConnection(t *testing.T) {
	const workers, quota = 2, 3
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	var logs testutil.SyncBuffer
	n, err := chain.NewNode("n1", chain.WithTransport(net), chain.WithStorage(memory.New()), chain.WithConfig(cfg),
		chain.WithQueryWorkers(workers), chain.WithMaxPendingPerClient(quota),
		chain.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	started, release := make(chan struct{}, 16), make(chan struct{})
	require.NoError(t, n.HandleQuery("wait", func(ctx context.Context, q []byte) ([]byte, error) {
		select {
		case started <- struct{}{}:
		default: // only the first ones are waited for
		}
		<-release
		return q, nil
	}))
	require.NoError(t, n.Start(context.Background()))
	defer n.Close()
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(release) }) }
	defer releaseAll() // before Close: a failed step leaves no worker waiting

	eps := listenAt(t, net, "flood", "other")
	flood, other := eps[0], eps[1]
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a step that hangs fails
	defer cancel()
	query := func(ep chain.Endpoint, id uint64) {
		require.NoError(t, ep.Send(ctx, "n1", &wire.ClientRequest{ID: id, Op: wire.OpQuery, Name: "wait", Data: []byte{byte(id)}}))
	}
	recv := func(ep chain.Endpoint) *wire.ClientResponse {
		t.Helper()
		select {
		case in := <-ep.Receive():
			return in.Msg.(*wire.ClientResponse)
		case <-ctx.Done():
			require.FailNow(t, "no answer")
			return nil
		}
	}
	for id := uint64(1); id <= workers; id++ { // these occupy the workers
		query(flood, id)
		<-started
	}
	for id := uint64(workers + 1); id <= workers+quota; id++ { // these queue
		query(flood, id)
	}
	query(flood, 100) // beyond the quota
	resp := recv(flood)
	require.Equal(t, uint64(100), resp.ID, "a request within the quota was answered before the workers were released")
	require.NotNil(t, resp.Err)
	require.Equal(t, wire.CodeBusy, resp.Err.Code)
	require.Contains(t, resp.Err.Message, "too many pending requests from this connection")
	require.Equal(t, uint64(1), n.Stats().OverQuota)
	require.Contains(t, logs.String(), "refused client request: too many pending from its connection")

	query(other, 200) // another connection still queues

	releaseAll()
	got := map[uint64]bool{}
	for len(got) < workers+quota {
		resp := recv(flood)
		require.Nil(t, resp.Err, "query %d", resp.ID)
		got[resp.ID] = true
	}
	resp = recv(other)
	require.Nil(t, resp.Err)
	require.Equal(t, uint64(200), resp.ID)
	require.Equal(t, uint64(1), n.Stats().OverQuota)

	// The quota is of requests queued, not of requests ever sent: once
	// answered, the connection may queue as many again, round after round.
	for round := range uint64(3) {
		for id := range uint64(quota) {
			query(flood, 300+10*round+id)
		}
		for range quota {
			require.Nil(t, recv(flood).Err, "round %d", round)
		}
	}
	require.Equal(t, uint64(1), n.Stats().OverQuota)
}
