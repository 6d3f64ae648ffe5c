package master

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/replica"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// TestReplacementWaitsOutTheLease checks the fencing inequality of
// fenceAfter on the state machine and the node's lease rule together: a
// tail whose last answered heartbeat was sent at s, however long that
// heartbeat took to reach the master, has stopped serving by the tick at
// which the master names its replacement. Times are on one clock: the
// node's instants are durations since t0.
func TestReplacementWaitsOutTheLease(t *testing.T) {
	for _, delay := range []time.Duration{0, ms(1), ms(250), ms(499), ms(900)} {
		t.Run(delay.String(), func(t *testing.T) {
			s := newTestState("n1", "n2", "n3")
			sent := ms(2000) // n3's last heartbeat, on the node's clock
			arrived := at(sent + delay)
			// Every member heartbeats until n3 falls silent; n1 and n2
			// go on.
			run(s, 0, sent-ms(100), "n1", "n2", "n3")
			beat(s, "n3", arrived, 1, 10, 10)
			require.True(t, s.vouches("n3"), "a member's heartbeat is vouched for")
			lease := replica.Lease{}.WithFenceAfter(fenceAfter(timeout)).Sent(sent).Answered(sent)
			require.True(t, lease.MayServe(sent), "the reply renews the lease from its heartbeat's send instant")
			for d := sent; ; d += ms(10) {
				beat(s, "n1", at(d), s.cfg.Epoch, 10, 10)
				beat(s, "n2", at(d), s.cfg.Epoch, 10, 10)
				if !s.tick(at(d)) {
					continue
				}
				require.Equal(t, []string{"n1", "n2"}, ids(s.cfg.Members), "the master replaced the silent tail")
				require.Greater(t, at(d).Sub(arrived), timeout, "the master waited a failure timeout after the heartbeat")
				require.False(t, lease.MayServe(d), "the old tail still serves at %v, when its replacement is named", d)
				require.False(t, s.vouches("n3"), "the master vouches no more for a node it replaced")
				return
			}
		})
	}
}

// TestFenceAfterIsShorterThanTheFailureTimeout states the inequality on
// the lengths themselves, with the margin for a slow node clock.
func TestFenceAfterIsShorterThanTheFailureTimeout(t *testing.T) {
	for _, T := range []time.Duration{10 * time.Millisecond, time.Second, time.Minute} {
		require.Less(t, fenceAfter(T), T)
		require.LessOrEqual(t, 2*fenceAfter(T), T, "a node clock at half speed still fences in time")
	}
}

// TestVouches is the rule for which heartbeats the leader's reply vouches
// for: those of the members and the joining node of its working
// configuration, not those of a node it has removed (even before the
// removal is committed) or does not know.
func TestVouches(t *testing.T) {
	s := newTestState("n1", "n2")
	require.NoError(t, s.addNode(members("n3")[0]))
	for d := time.Duration(0); d <= ms(300); d += ms(100) {
		beat(s, "n1", at(d), s.cfg.Epoch, 10, 10)
		beat(s, "n2", at(d), s.cfg.Epoch, 10, 10)
		beat(s, "n3", at(d), 0, 0, 0) // catching up: it stays joining
		s.tick(at(d))
	}
	require.Equal(t, "n3", s.cfg.Joining.ID)
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"n1", true},  // the head
		{"n2", true},  // the tail
		{"n3", true},  // the joining node
		{"n9", false}, // unknown
		{"", false},
	} {
		require.Equal(t, tc.want, s.vouches(tc.id), "vouches(%q)", tc.id)
	}
	// n2 falls silent and is removed: a late heartbeat of it, taken while
	// the change awaits its commit, is not vouched for.
	run(s, ms(400), ms(2000), "n1")
	require.Equal(t, []string{"n1"}, ids(s.cfg.Members))
	beat(s, "n2", at(ms(2000)), 1, 10, 10)
	require.False(t, s.vouches("n2"))
}

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
