package replica

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

const ms = time.Millisecond

func TestLinkWatchCutsASilentPredecessorLinkForTheEpoch(t *testing.T) {
	start := LinkWatch{}.At(3, 100*ms)
	cases := []struct {
		name    string
		w       LinkWatch
		now     time.Duration
		timeout time.Duration
		serving bool
		cut     bool
	}{
		{"new epoch: the whole timeout from the start", start, 299 * ms, 200 * ms, true, false},
		{"nothing since the epoch began", start, 300 * ms, 200 * ms, true, true},
		{"a response resets the age", start.FromPred(3, 250*ms), 449 * ms, 200 * ms, true, false},
		{"silent for the timeout after a response", start.FromPred(3, 250*ms), 450 * ms, 200 * ms, true, true},
		{"a response of another epoch counts for nothing", start.FromPred(2, 250*ms), 300 * ms, 200 * ms, true, true},
		{"the successor's pulls say nothing of the predecessor", start.FromSucc(3, 290*ms), 300 * ms, 200 * ms, true, true},
		{"no link timeout: never cut", start, time.Hour, 0, true, false},
		{"not serving (head, joining): never cut", start, time.Hour, 200 * ms, false, false},
		{"the cut stays when the link comes back", start.Checked(300*ms, 200*ms, true).FromPred(3, 310*ms), 320 * ms, 200 * ms, true, true},
		{"a later epoch lifts the cut", start.Checked(300*ms, 200*ms, true).At(4, 310*ms), 320 * ms, 200 * ms, true, false},
		{"an earlier epoch leaves the cut", start.Checked(300*ms, 200*ms, true).At(2, 310*ms), 320 * ms, 200 * ms, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.cut, c.w.Checked(c.now, c.timeout, c.serving).Cut())
		})
	}
}

func TestLinkWatchHealthReportsAgesFromTheEpochStart(t *testing.T) {
	w := LinkWatch{}.At(3, 100*ms).FromPred(3, 150*ms)
	require.Equal(t, wire.LinkHealth{FromPred: 50 * ms, FromSucc: 100 * ms, SuccBehind: 7}, w.Health(200*ms, true, true, 7))
	require.Equal(t, wire.LinkHealth{FromPred: 50 * ms}, w.Health(200*ms, true, false, 7), "a tail reports no successor")
	require.Equal(t, wire.LinkHealth{FromSucc: 100 * ms, SuccBehind: 7}, w.Health(200*ms, false, true, 7), "a head reports no predecessor")
	w = w.FromSucc(3, 190*ms).Checked(400*ms, 200*ms, true)
	require.Equal(t, wire.LinkHealth{FromPred: 250 * ms, FromSucc: 210 * ms, Cut: true}, w.Health(400*ms, true, true, 0))
	require.Equal(t, uint64(3), w.Epoch())
}
