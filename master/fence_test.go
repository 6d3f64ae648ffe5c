package master

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// TestNodeServesBeforeAdoptingItsRemoval plays the master by hand: a
// fenced node that receives a ConfigUpdate with a newer configuration
// adopts it on another goroutine, and must not serve in between under the
// old configuration it has just been told is over (an old tail, cut off
// while a new tail committed writes, would answer a read from stale
// state).
func TestNodeServesBeforeAdoptingItsRemoval(t *testing.T) {
	served := 0
	const trials = 20
	for range trials {
		if nodeServedAfterRemoval(t) {
			served++
		}
	}
	require.Zero(t, served, "the node served a read after it was told it was removed, in %d of %d trials", served, trials)
}

func nodeServedAfterRemoval(t *testing.T) bool {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	fake, err := net.Listen("fake-master")
	require.NoError(t, err)
	probe, err := net.Listen("probe")
	require.NoError(t, err)
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	n, err := chain.NewNode("n1", chain.WithTransport(net), chain.WithStorage(memory.New()),
		chain.WithConfig(cfg), chain.WithMaster("fake-master"))
	require.NoError(t, err)
	require.NoError(t, n.Start(context.Background()))
	defer n.Close()
	ctx := context.Background()
	// The node's first heartbeat, sent as it starts, is the one the fake
	// master answers (echoes), so its lease runs from then.
	var hb *wire.Heartbeat
	for hb == nil {
		hb, _ = (<-fake.Receive()).Msg.(*wire.Heartbeat)
	}
	update := func(c chain.Config) {
		require.NoError(t, fake.Send(ctx, "n1", &wire.ConfigUpdate{Config: c, FenceAfter: 50 * time.Millisecond, HeartbeatEvery: time.Hour,
			HeartbeatSent: hb.Sent}))
	}
	update(cfg)
	time.Sleep(100 * time.Millisecond) // no contact for longer than FenceAfter: fenced
	// The master says n1 was replaced by n2, and a read arrives right after.
	update(chain.Config{Epoch: 2, Members: []chain.Member{{ID: "n2", Addr: "n2"}}})
	require.NoError(t, probe.Send(ctx, "n1", &wire.ClientRequest{Op: wire.OpLatest, ID: 1}))
	select {
	case in := <-probe.Receive():
		resp := in.Msg.(*wire.ClientResponse)
		return resp.Err == nil
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
		return false
	}
}
