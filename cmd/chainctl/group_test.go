package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/master"
)

// TestCommandsWithAMasterGroup runs three masters (raft on loopback TCP)
// and three nodes: status marks the leader, admin commands sent first to
// a follower reach the leader, and after the leader is closed status
// reports it unreachable and another leader, and the commands go on.
func TestCommandsWithAMasterGroup(t *testing.T) {
	ports, err := launch.FreeLocalMembers(9)
	require.NoError(t, err)
	var peers []master.Peer
	var addrs []string
	for i := range 3 {
		peers = append(peers, master.Peer{Addr: ports[i].Addr, RaftAddr: ports[3+i].Addr})
		addrs = append(addrs, ports[i].Addr)
	}
	c, cfg := newMasterChain(t, strings.Join(addrs, ","), ports[6:9])
	ms := map[string]*master.Master{}
	for _, p := range peers {
		m, err := master.Start(master.Options{Addr: p.Addr, Config: cfg, Transport: c.tr, FailureTimeout: 500 * time.Millisecond,
			Peers: peers, RaftAddr: p.RaftAddr})
		require.NoError(t, err)
		ms[p.Addr] = m
		t.Cleanup(func() { _ = m.Close() })
	}
	leader := func() string {
		for a, m := range ms {
			if m.IsLeader() {
				return a
			}
		}
		return ""
	}
	require.Eventually(t, func() bool { return leader() != "" }, 10*time.Second, 10*time.Millisecond)
	for _, mem := range c.members {
		c.startNode(t, mem.ID, cfg, "")
	}
	l := leader()
	// The list starts with a follower.
	list := slices.Clone(addrs)
	slices.SortFunc(list, func(a, b string) int {
		if (a == l) == (b == l) {
			return strings.Compare(a, b)
		}
		if a == l {
			return 1
		}
		return -1
	})
	masters := strings.Join(list, ",")

	out, err := ctl(t, "-master", masters, "append", "hello")
	require.NoError(t, err)
	require.Equal(t, "appended at offset 1\n", out)
	out, err = ctl(t, "-master", masters, "status")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^  `+regexp.QuoteMeta(l)+`\s+leader\s+epoch 1$`, out)
	require.Equal(t, 2, strings.Count(out, " follower "))
	require.Contains(t, out, "master "+l+": epoch 1, joining: none\n")

	out, err = ctl(t, "-master", masters, "remove-node", "n3")
	require.NoError(t, err)
	require.Contains(t, out, "removed n3\nmaster "+l+": epoch 2")

	require.NoError(t, ms[l].Close())
	delete(ms, l)
	require.Eventually(t, func() bool { nl := leader(); return nl != "" && nl != l }, 10*time.Second, 10*time.Millisecond)
	nl := leader()
	require.Eventually(t, func() bool {
		out, err = ctl(t, "-master", masters, "--json", "status")
		if err != nil {
			return false
		}
		var st struct {
			Masters []masterState `json:"masters"`
			Master  masterView    `json:"master"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &st))
		require.Len(t, st.Masters, 3)
		for _, m := range st.Masters {
			want := "follower"
			switch m.Addr {
			case l:
				want = "unreachable"
			case nl:
				want = "leader"
			}
			if m.State != want {
				return false
			}
		}
		return st.Master.Addr == nl && st.Master.Epoch >= 2 && len(st.Master.Members) == 2
	}, 15*time.Second, 50*time.Millisecond, "status never showed the new leader: %s", out)

	out, err = ctl(t, "-master", masters, "append", "after")
	require.NoError(t, err)
	require.Equal(t, "appended at offset 2\n", out)
	out, err = ctl(t, "-master", masters, "remove-node", "n2")
	require.NoError(t, err)
	// Under load raft may elect again between the status and the removal:
	// any master but the closed one may answer.
	m := regexp.MustCompile(`removed n2\nmaster (\S+): epoch`).FindStringSubmatch(out)
	require.NotNil(t, m, "remove-node output: %s", out)
	require.NotEqual(t, l, m[1], "the closed master answered")
	require.Equal(t, []string{"n1"}, ids(c.config(t)))
}
