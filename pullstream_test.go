package chain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPullStreamWindowAcksAndRestarts walks a pull server's stream state
// through the cases the link meets: a first pull, responses up to the
// window, acknowledgments, old copies of pulls, a restart after a lost
// response, a new puller session and a refusal.
func TestPullStreamWindowAcksAndRestarts(t *testing.T) {
	var s pullStream
	require.False(t, s.canSend(), "no stream before a pull")

	s.take(&PullRequest{Session: 1, Next: 10, Restart: true, MaxBytes: 100})
	require.True(t, s.canSend())
	require.Equal(t, uint64(10), s.next)
	require.Equal(t, 100, s.maxBytes)

	// Responses [10,12), [12,15), an empty one at 15, [15,20): the window
	// is full.
	for _, after := range []uint64{12, 15, 15, 20} {
		require.True(t, s.canSend())
		s.sent(after)
	}
	require.False(t, s.canSend(), "window of %d responses", streamWindow)

	// The pull acknowledging [10,12) frees one response.
	s.take(&PullRequest{Session: 1, Next: 12})
	require.True(t, s.canSend())
	require.Equal(t, uint64(20), s.next, "an acknowledgment does not move the stream")
	// One acknowledging through 15 frees the empty response as well.
	s.take(&PullRequest{Session: 1, Next: 15})
	require.Equal(t, []uint64{20}, s.unacked)

	// An old copy of a pull changes nothing, even one asking to restart.
	s.take(&PullRequest{Session: 1, Next: 12})
	s.take(&PullRequest{Session: 1, Next: 12, Restart: true})
	require.Equal(t, uint64(20), s.next)
	require.Equal(t, []uint64{20}, s.unacked)

	// The successor missed [15,20) and asks again from 15.
	s.take(&PullRequest{Session: 1, Next: 15, Restart: true})
	require.Equal(t, uint64(15), s.next)
	require.Empty(t, s.unacked)

	// A pull from beyond what was sent restarts there.
	s.take(&PullRequest{Session: 1, Next: 30})
	require.Equal(t, uint64(30), s.next)

	// A new session (a restarted successor) starts over, even lower.
	s.sent(35)
	s.take(&PullRequest{Session: 2, Next: 5})
	require.Equal(t, uint64(5), s.next)
	require.Empty(t, s.unacked)

	// A refusal ends the stream until the next pull, which restarts it.
	s.stop()
	require.False(t, s.canSend())
	s.take(&PullRequest{Session: 2, Next: 7})
	require.True(t, s.canSend())
	require.Equal(t, uint64(7), s.next)
}
