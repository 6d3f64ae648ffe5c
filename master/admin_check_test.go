package master

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func voters(ids ...string) []raft.Server {
	var s []raft.Server
	for _, id := range ids {
		s = append(s, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress("raft-" + id)})
	}
	return s
}

// refusalDetail returns the one-line reason of a refusal, or "" for nil.
func refusalDetail(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var r *refusal
	require.True(t, errors.As(err, &r), "not a refusal: %v", err)
	return r.detail
}

// TestCheckTCPAddr: an admin change's address must be host:port (or a
// replica's host:port/sub); "notanaddr" is refused.
func TestCheckTCPAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:7004", true},
		{"node-4.example:7004", true},
		{"[::1]:7004", true},
		{"127.0.0.1:7101/c3", true},
		{"notanaddr", false},
		{"n9", false},
		{":7004", false},
		{"127.0.0.1:", false},
		{"127.0.0.1:0", false},
		{"127.0.0.1:70000", false},
		{"127.0.0.1:http", false},
		{"", false},
	} {
		err := CheckTCPAddr(tc.addr)
		require.Equal(t, tc.ok, err == nil, "%q: %v", tc.addr, err)
	}
}

// TestCheckAddMaster: both addresses are required and checked, an id
// already in the group at another raft address and a raft address of
// another master are refused, and a voter added again is reported so.
func TestCheckAddMaster(t *testing.T) {
	group := append(voters("m1", "m2"), raft.Server{Suffrage: raft.Nonvoter, ID: "m3", Address: "raft-m3"})
	for _, tc := range []struct {
		name   string
		p      Peer
		voter  bool
		refuse string
	}{
		{"new", Peer{"m4", "raft-m4"}, false, ""},
		{"a voter again", Peer{"m2", "raft-m2"}, true, ""},
		{"a non-voter again (promoted)", Peer{"m3", "raft-m3"}, false, ""},
		{"no raft address", Peer{"m4", ""}, false, "a master needs an address and a raft address"},
		{"another raft address", Peer{"m2", "raft-other"}, false, "master m2 is in the group with raft address raft-m2: remove it first"},
		{"another master's raft address", Peer{"m4", "raft-m1"}, false, "raft address raft-m1 is master m1's"},
		{"bad address", Peer{"bad", "raft-m4"}, false, "bad address"},
		{"bad raft address", Peer{"m4", "bad"}, false, "bad address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(a string) error {
				if a == "bad" {
					return errors.New("bad address")
				}
				return nil
			}
			voter, err := checkAddMaster(group, tc.p, check, check)
			require.Equal(t, tc.refuse, refusalDetail(t, err))
			if tc.refuse != "" {
				require.ErrorIs(t, err, chain.ErrInvalidArgument)
			}
			require.Equal(t, tc.voter, voter)
		})
	}
}

// TestCheckRemoveMaster: a master that is not in the group is refused
// (remove-master of an unknown address used to say "removed"), and so is
// the last voter; a non-voter may go.
func TestCheckRemoveMaster(t *testing.T) {
	withNonvoter := append(voters("m1"), raft.Server{Suffrage: raft.Nonvoter, ID: "m2", Address: "raft-m2"})
	for _, tc := range []struct {
		name    string
		servers []raft.Server
		addr    string
		refuse  string
	}{
		{"a member", voters("m1", "m2", "m3"), "m2", ""},
		{"not a member", voters("m1", "m2", "m3"), "m9", "no master m9 in the group (its masters: m1, m2, m3)"},
		{"the last voter", voters("m1"), "m1", "m1 is the group's last master"},
		{"the last voter beside a non-voter", withNonvoter, "m1", "m1 is the group's last master"},
		{"a non-voter", withNonvoter, "m2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.refuse, refusalDetail(t, checkRemoveMaster(tc.servers, tc.addr)))
		})
	}
}

// TestCheckQuorum: a change is refused when the voters after it would
// not have a quorum among the masters reachable now.
func TestCheckQuorum(t *testing.T) {
	up := func(ids ...string) func(raft.ServerID) bool {
		return func(id raft.ServerID) bool {
			for _, u := range ids {
				if string(id) == u {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name   string
		next   []raft.Server
		up     []string
		refuse string
	}{
		{"3 of 3", voters("m1", "m2", "m3"), []string{"m1", "m2", "m3"}, ""},
		{"2 of 3", voters("m1", "m2", "m3"), []string{"m1", "m2"}, ""},
		// A group of three with m3 down: removing m2 leaves m1 and m3,
		// one of them reachable.
		{"1 of 2", voters("m1", "m3"), []string{"m1"}, "removing x would cost the group its quorum: 1 of its 2 voters would be reachable (m3 not), short of 2"},
		// Removing the dead m3 instead is fine.
		{"2 of 2", voters("m1", "m2"), []string{"m1", "m2"}, ""},
		{"1 of 1", voters("m1"), []string{"m1"}, ""},
		{"3 of 5", voters("m1", "m2", "m3", "m4", "m5"), []string{"m1", "m2", "m3"}, ""},
		{"2 of 4", voters("m1", "m2", "m3", "m4"), []string{"m1", "m2"}, "removing x would cost the group its quorum: 2 of its 4 voters would be reachable (m3, m4 not), short of 3"},
		{"non-voters do not count", append(voters("m1"), raft.Server{Suffrage: raft.Nonvoter, ID: "m2"}), []string{"m1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.refuse, refusalDetail(t, checkQuorum("removing x", tc.next, up(tc.up...))))
		})
	}
}

// TestDecidePromotion: a non-voter is promoted once its log matches the
// leader's within the lag bound, and given up on (with the reason) when it
// never answers, stops answering, or does not catch up in time.
func TestDecidePromotion(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := catchUp{MaxLag: 16, Reach: 2 * time.Second, Within: 4 * time.Second}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name    string
		p       peerProgress
		last    uint64
		now     time.Duration
		want    promotion
		because string
	}{
		{"nothing heard yet", peerProgress{}, 100, time.Second, promoteWait, ""},
		{"caught up", peerProgress{contact: at(time.Second), match: 100, synced: true}, 100, time.Second, promoteVoter, ""},
		{"within the lag", peerProgress{contact: at(time.Second), match: 84, synced: true}, 100, time.Second, promoteVoter, ""},
		{"beyond the lag", peerProgress{contact: at(time.Second), match: 83, synced: true}, 100, time.Second, promoteWait, ""},
		{"ahead of the leader", peerProgress{contact: at(time.Second), match: 120, synced: true}, 100, time.Second, promoteVoter, ""},
		// Heartbeats alone prove reachability, not a matching log.
		{"heartbeats only", peerProgress{contact: at(time.Second)}, 10, time.Second, promoteWait, ""},
		{"never answered", peerProgress{}, 100, 2 * time.Second, promoteGiveUp,
			"it never answered raft within 2s: is it running with -join, and its raft port reachable from the leader (and, under TLS, certified by the same CA)?"},
		{"stopped answering", peerProgress{contact: at(time.Second), match: 10, synced: true}, 100, 3 * time.Second, promoteGiveUp,
			"it stopped answering raft for 2s"},
		{"too slow", peerProgress{contact: at(4 * time.Second), match: 10, synced: true}, 100, 4 * time.Second, promoteGiveUp,
			"it did not catch up within 4s (its log matches to index 10, the leader's is at 100)"},
		{"slow but in time", peerProgress{contact: at(3 * time.Second), match: 10, synced: true}, 100, 3 * time.Second, promoteWait, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := decidePromotion(tc.p, tc.last, t0, at(tc.now), b)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.because, why)
		})
	}
}
