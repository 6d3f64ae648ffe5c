package chain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

// TestAdoptable is the client's configuration rule: a later epoch, valid,
// is taken; the same or an older epoch never is (a lagging master or a
// node left behind cannot take the client back), nor an invalid one.
func TestAdoptable(t *testing.T) {
	members := []Member{{ID: "a", Addr: "a"}, {ID: "b", Addr: "b"}}
	have := Config{Epoch: 3, Members: members}
	for _, tc := range []struct {
		name     string
		have     Config
		reported Config
		want     bool
	}{
		{"later epoch", have, Config{Epoch: 4, Members: members[1:]}, true},
		{"much later epoch", have, Config{Epoch: 9, Members: members}, true},
		{"same epoch", have, Config{Epoch: 3, Members: members[1:]}, false},
		{"older epoch", have, Config{Epoch: 2, Members: members}, false},
		{"restarted node at epoch 1", have, Config{Epoch: 1, Members: members}, false},
		{"later epoch, no members", have, Config{Epoch: 4}, false},
		{"later epoch, duplicate members", have, Config{Epoch: 4, Members: []Member{members[0], members[0]}}, false},
		{"nothing held yet", Config{}, Config{Epoch: 1, Members: members}, true},
		{"nothing held, nothing reported", Config{}, Config{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, adoptable(tc.have, tc.reported))
		})
	}
}

// TestStatusConfig: a node's status reports its epoch and members as a
// configuration.
func TestStatusConfig(t *testing.T) {
	members := []Member{{ID: "a", Addr: "a"}}
	require.Equal(t, Config{Epoch: 7, Members: members}, statusConfig(&NodeStatus{ID: "a", Epoch: 7, Members: members, LastOffset: 3}))
}

// TestNextBackoff is the retry rule: doubling up to the maximum while the
// configuration stays, back to the first interval on a new one.
func TestNextBackoff(t *testing.T) {
	const first, max = 50 * time.Millisecond, time.Second
	for _, tc := range []struct {
		last      time.Duration
		newConfig bool
		want      time.Duration
	}{
		{first, false, 2 * first},
		{400 * time.Millisecond, false, 800 * time.Millisecond},
		{800 * time.Millisecond, false, max},
		{max, false, max},
		{max, true, first},
		{first, true, first},
	} {
		require.Equal(t, tc.want, nextBackoff(tc.last, first, max, tc.newConfig), "last %v, new config %v", tc.last, tc.newConfig)
	}
}

// TestRefreshDue: the configuration is asked for at most once a retry
// interval, and at once the first time.
func TestRefreshDue(t *testing.T) {
	const interval = 50 * time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now, last time.Time
		want      bool
	}{
		{t0, time.Time{}, true},
		{t0, t0, false},
		{t0.Add(interval - 1), t0, false},
		{t0.Add(interval), t0, true},
		{t0.Add(time.Hour), t0, true},
	} {
		require.Equal(t, tc.want, refreshDue(tc.now, tc.last, interval), "now %v, last %v", tc.now, tc.last)
	}
}

// TestNodeBehind: only a stale-epoch refusal from a node of an older
// epoch than the request's says the node has yet to learn the client's
// configuration.
func TestNodeBehind(t *testing.T) {
	for _, tc := range []struct {
		err  *RemoteError
		sent uint64
		want bool
	}{
		{&RemoteError{Code: wire.CodeStaleEpoch, Epoch: 2}, 3, true},
		{&RemoteError{Code: wire.CodeStaleEpoch, Epoch: 4}, 3, false},
		{&RemoteError{Code: wire.CodeStaleEpoch, Epoch: 3}, 3, false},
		{&RemoteError{Code: wire.CodeBusy, Epoch: 2}, 3, false},
		{&RemoteError{Code: wire.CodeClosed, Epoch: 2}, 3, false},
		{&RemoteError{Code: wire.CodeNotHead, Epoch: 2}, 3, false},
	} {
		require.Equal(t, tc.want, nodeBehind(tc.err, tc.sent), "%+v, sent at %d", tc.err, tc.sent)
	}
}

// TestOutboxKeepsOneRequestPerCall: a retry queued before the flusher took
// the first copy replaces it (also when it goes elsewhere, after a
// redirect), so the outbox never holds more requests than calls in flight.
func TestOutboxKeepsOneRequestPerCall(t *testing.T) {
	o := newOutbox(1 << 20)
	o.add("head", &wire.ClientRequest{ID: 1, Data: []byte("a")})
	o.add("head", &wire.ClientRequest{ID: 2, Data: []byte("b")})
	o.add("new-head", &wire.ClientRequest{ID: 1, Data: []byte("a"), Epoch: 2})
	got := o.take()
	require.Len(t, got, 2)
	require.Equal(t, outgoing{to: "new-head", req: wire.ClientRequest{ID: 1, Data: []byte("a"), Epoch: 2}}, got[0])
	require.Equal(t, uint64(2), got[1].req.ID)
	o.release(got)

	o.add("head", &wire.ClientRequest{ID: 1})
	require.Len(t, o.take(), 1, "a taken request is not replaced: its copy is sent again")
}
