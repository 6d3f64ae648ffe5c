package replica

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

const ms = time.Millisecond

func TestLinkWatchCutsASilentPredecessorLinkForTheEpoch(t *testing.T) {
	start := LinkWatch{}.At(3, "p", "s", 100*ms)
	cut := start.Checked(300*ms, 200*ms, true)
	cases := []struct {
		name    string
		w       LinkWatch
		now     time.Duration
		timeout time.Duration
		serving bool
		cut     bool
	}{
		{"new link: the whole timeout from the start", start, 299 * ms, 200 * ms, true, false},
		{"nothing since the link began", start, 300 * ms, 200 * ms, true, true},
		{"a response resets the age", start.FromPred(3, 250*ms), 449 * ms, 200 * ms, true, false},
		{"silent for the timeout after a response", start.FromPred(3, 250*ms), 450 * ms, 200 * ms, true, true},
		{"a response of another epoch counts for nothing", start.FromPred(2, 250*ms), 300 * ms, 200 * ms, true, true},
		{"the successor's pulls say nothing of the predecessor", start.FromSucc(3, 290*ms), 300 * ms, 200 * ms, true, true},
		{"no link timeout: never cut", start, time.Hour, 0, true, false},
		{"not serving (joining): never cut", start, time.Hour, 200 * ms, false, false},
		{"no predecessor (head): never cut", LinkWatch{}.At(3, "", "s", 100*ms), time.Hour, 200 * ms, true, false},
		{"the cut stays for the epoch when the link comes back", cut.FromPred(3, 310*ms), 320 * ms, 200 * ms, true, true},
		{"a later epoch, same predecessor, link back: not cut", cut.FromPred(3, 310*ms).At(4, "p", "s", 315*ms), 320 * ms, 200 * ms, true, false},
		{"a later epoch, same predecessor, still silent: cut again at once", cut.At(4, "p", "s2", 310*ms), 310 * ms, 200 * ms, true, true},
		{"a later epoch, another predecessor: a fresh timeout", cut.At(4, "p2", "s", 310*ms), 500 * ms, 200 * ms, true, false},
		{"an earlier epoch changes nothing", cut.At(2, "p2", "s", 310*ms), 320 * ms, 200 * ms, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.cut, c.w.Checked(c.now, c.timeout, c.serving).Cut())
		})
	}
}

func TestLinkWatchHealthReportsAgesSinceEachNeighbourBegan(t *testing.T) {
	w := LinkWatch{}.At(3, "p", "s", 100*ms).FromPred(3, 150*ms)
	require.Equal(t, wire.LinkHealth{FromPred: 50 * ms, FromSucc: 100 * ms, SuccBehind: 7}, w.Health(200*ms, 7))
	require.Equal(t, wire.LinkHealth{FromPred: 50 * ms}, LinkWatch{}.At(3, "p", "", 100*ms).FromPred(3, 150*ms).Health(200*ms, 7),
		"a tail reports no successor")
	require.Equal(t, wire.LinkHealth{FromSucc: 100 * ms, SuccBehind: 7}, LinkWatch{}.At(3, "", "s", 100*ms).Health(200*ms, 7),
		"a head reports no predecessor")
	w = w.FromSucc(3, 190*ms).Checked(400*ms, 200*ms, true)
	require.Equal(t, wire.LinkHealth{FromPred: 250 * ms, FromSucc: 210 * ms, Cut: true}, w.Health(400*ms, 0))
	require.Equal(t, uint64(3), w.Epoch())
	// A new successor at epoch 4 is watched from then; the predecessor's
	// link keeps its age.
	w = w.At(4, "p", "s2", 450*ms)
	require.Equal(t, wire.LinkHealth{FromPred: 350 * ms, FromSucc: 50 * ms}, w.Health(500*ms, 0))
}
