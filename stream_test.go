package chain_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/wire"
)

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
