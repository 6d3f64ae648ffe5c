package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/tcp"
)

// masterChain is a master and three nodes following it over loopback
// TCP, and a free address for a fourth node.
type masterChain struct {
	master  string
	members []chain.Member
	spare   string
	tr      chain.Transport
}

func startMasterChain(t *testing.T) *masterChain {
	t.Helper()
	ports, err := launch.FreeLocalMembers(5)
	require.NoError(t, err)
	c, cfg := newMasterChain(t, ports[0].Addr, ports[1:4])
	c.spare = ports[4].Addr
	m, err := master.Start(master.Options{Addr: c.master, Config: cfg, Transport: c.tr, FailureTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	for _, mem := range c.members {
		c.startNode(t, mem.ID, cfg, "")
	}
	return c
}

// newMasterChain returns the masterChain of the masters at master
// (comma-separated) and of nodes n1, n2, ... at the addresses of members,
// with its TCP transport, and the chain's first configuration; nothing
// runs yet.
func newMasterChain(t *testing.T, master string, members []chain.Member) (*masterChain, chain.Config) {
	t.Helper()
	c := &masterChain{master: master}
	for i, p := range members {
		c.members = append(c.members, chain.Member{ID: "n" + string(rune('1'+i)), Addr: p.Addr})
	}
	tr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = tr.Close() })
	c.tr = tr
	return c, chain.Config{Epoch: 1, Members: c.members}
}

func (c *masterChain) startNode(t *testing.T, id string, cfg chain.Config, addr string) {
	t.Helper()
	n, err := launch.StartNode(context.Background(), launch.NodeConfig{
		ID: id, Config: cfg, Masters: flagvalue.SplitAddrs(c.master), Addr: addr, Transport: c.tr,
		Options: []chain.NodeOption{chain.WithPollInterval(20 * time.Millisecond)},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
}

func (c *masterChain) config(t *testing.T) chain.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg, err := masterclient.FetchConfig(ctx, c.tr, flagvalue.SplitAddrs(c.master)...)
	require.NoError(t, err)
	return cfg
}

// ctl runs chainctl with exactly args.
func ctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, errOut: &out})
	return out.String(), err
}

func TestCommandsWithAMaster(t *testing.T) {
	c := startMasterChain(t)
	out, err := ctl(t, "-master", c.master, "append", "hello")
	require.NoError(t, err)
	require.Equal(t, "appended at offset 1\n", out)
	_, err = ctl(t, "-master", c.master, "put", "k", "v")
	require.NoError(t, err)
	out, err = ctl(t, "-master", c.master, "get", "k")
	require.NoError(t, err)
	require.Equal(t, "\"v\"\n", out)

	// The master address may come from the environment.
	t.Setenv("CHAIN_MASTER", c.master)
	out, err = ctl(t, "read", "1")
	require.NoError(t, err)
	require.Contains(t, out, `1 "hello"`)

	out, err = ctl(t, "status")
	require.NoError(t, err)
	require.Contains(t, out, "master "+c.master+": epoch 1, joining: none\n")
	require.Regexp(t, `(?m)^  n1\s+`+c.members[0].Addr+`\s+head$`, out)
	require.Regexp(t, `(?m)^  n2\s+`+c.members[1].Addr+`\s+middle$`, out)
	require.Regexp(t, `(?m)^  n3\s+`+c.members[2].Addr+`\s+tail$`, out)
	require.Less(t, strings.Index(out, "master "), strings.Index(out, "ROLE"), "the master's view comes first")

	out, err = ctl(t, "--json", "status")
	require.NoError(t, err)
	var st struct {
		Master masterView   `json:"master"`
		Nodes  []nodeStatus `json:"nodes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Equal(t, c.master, st.Master.Addr)
	require.Equal(t, uint64(1), st.Master.Epoch)
	require.Nil(t, st.Master.Joining)
	require.Equal(t, []memberView{
		{ID: "n1", Addr: c.members[0].Addr, Role: "head"},
		{ID: "n2", Addr: c.members[1].Addr, Role: "middle"},
		{ID: "n3", Addr: c.members[2].Addr, Role: "tail"},
	}, st.Master.Members)
	require.Len(t, st.Nodes, 3)
	for _, r := range st.Nodes {
		require.Empty(t, r.Err)
		require.Equal(t, uint64(2), r.Commit)
	}
}

func TestAddAndRemoveNodes(t *testing.T) {
	c := startMasterChain(t)
	_, err := ctl(t, "-master", c.master, "append", "before n4")
	require.NoError(t, err)

	// n4 runs, not yet a member; add-node lets it join, and prints the
	// configuration it joined, not the master's answer to the add (epoch
	// 1, n4 a standby the master holds).
	c.startNode(t, "n4", chain.Config{}, c.spare)
	out, err := ctl(t, "-master", c.master, "add-node", "n4", c.spare)
	require.NoError(t, err)
	require.Contains(t, out, "added n4 at "+c.spare)
	require.NotContains(t, out, "none yet")
	require.Regexp(t, `master `+regexp.QuoteMeta(c.master)+`: epoch (2, joining: n4|3, joining: none)\n`, out)
	require.Regexp(t, `(?m)^  n4\s+`+regexp.QuoteMeta(c.spare)+`\s+(joining|tail)$`, out)
	require.Eventually(t, func() bool {
		cfg := c.config(t)
		return len(cfg.Members) == 4 && cfg.Tail().ID == "n4"
	}, 10*time.Second, 10*time.Millisecond, "n4 never became the tail")
	out, err = ctl(t, "-master", c.master, "status")
	require.NoError(t, err)
	require.Contains(t, out, "epoch 3, joining: none")
	require.Regexp(t, `(?m)^  n4\s+`+c.spare+`\s+tail$`, out)
	require.Regexp(t, `(?m)^n4\s+`+c.spare+`\s+tail\s+3\s+1\s+1\s+1\s+0\s`, out)

	// Adding it again changes nothing.
	out, err = ctl(t, "-master", c.master, "add-node", "n4", c.spare)
	require.NoError(t, err)
	require.Contains(t, out, "n4 is already in the chain (tail)")

	out, err = ctl(t, "-master", c.master, "--json", "remove-node", "n2")
	require.NoError(t, err)
	var removed struct {
		Op     string     `json:"op"`
		ID     string     `json:"id"`
		Config masterView `json:"config"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &removed))
	require.Equal(t, "remove-node", removed.Op)
	require.Equal(t, "n2", removed.ID)
	require.Equal(t, uint64(4), removed.Config.Epoch)
	require.Len(t, removed.Config.Members, 3)
	for _, m := range removed.Config.Members {
		require.NotEqual(t, "n2", m.ID)
	}
	out, err = ctl(t, "-master", c.master, "append", "after n2")
	require.NoError(t, err)
	require.Equal(t, "appended at offset 2\n", out)

	out, err = ctl(t, "-master", c.master, "remove-node", "n1")
	require.NoError(t, err)
	require.Contains(t, out, "removed n1\nmaster "+c.master+": epoch 5, joining: none\n")
	require.Regexp(t, `(?m)^  n3\s+\S+\s+head$`, out)

	// Refusals are one-line errors naming the problem.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"remove-node", "n9"}, `no node "n9" in the chain`},
		{[]string{"add-node", "n5", c.members[2].Addr}, "in use"},
		{[]string{"add-node", "n5"}, "usage: add-node ID ADDR"},
	} {
		_, err := ctl(t, append([]string{"-master", c.master}, tc.args...)...)
		require.ErrorContains(t, err, tc.want, "%q", tc.args)
		require.NotContains(t, err.Error(), "\n")
	}
	require.Equal(t, []string{"n3", "n4"}, ids(c.config(t)))
}

func TestAdminNeedsAMaster(t *testing.T) {
	members := startChain(t)
	_, err := chainctl(t, members, "", "add-node", "n4", "127.0.0.1:1")
	require.ErrorContains(t, err, "needs the master")
	_, err = chainctl(t, members, "", "remove-node", "n1")
	require.ErrorContains(t, err, "needs the master")

	// A master that does not answer: the command fails at its time limit.
	free, err := launch.FreeLocalMembers(1)
	require.NoError(t, err)
	start := time.Now()
	_, err = ctl(t, "-master", free[0].Addr, "-timeout", "300ms", "remove-node", "n1")
	require.EqualError(t, err, "cannot reach the master at "+free[0].Addr+": connection refused (is chaind running there?)")
	require.Less(t, time.Since(start), 5*time.Second)
	// Refused connections end a command at once, not at its time limit
	// (which would outlast the test).
	_, err = ctl(t, "-master", free[0].Addr, "-timeout", "1h", "status")
	require.ErrorContains(t, err, "connection refused")

	_, err = ctl(t, "latest")
	require.ErrorContains(t, err, "CHAIN_MASTER")
}

func TestMasterViewText(t *testing.T) {
	cfg := chain.Config{Epoch: 7,
		Members: []chain.Member{{ID: "a", Addr: "h:1"}, {ID: "b", Addr: "h:2"}},
		Joining: &chain.Member{ID: "c", Addr: "h:3"}}
	var out bytes.Buffer
	require.NoError(t, newMasterView("m:0", cfg).writeText(&out, ""))
	require.Equal(t, "master m:0: epoch 7, joining: c\n"+
		"  a  h:1  head\n"+
		"  b  h:2  tail\n"+
		"  c  h:3  joining\n", out.String())
}

func ids(cfg chain.Config) []string {
	out := make([]string, len(cfg.Members))
	for i, m := range cfg.Members {
		out[i] = m.ID
	}
	return out
}
