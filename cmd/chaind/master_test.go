package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

// process is one run call standing for a chaind process: its own
// transport, stopped by cancelling its context.
type process struct {
	out    *testutil.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{}
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := startRun(t, args...)
	waitFor(t, p, "reach the chain")
	return p
}

// waitFor polls out until it contains want, at most 15s.
func waitFor(t *testing.T, p *process, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), want) }, 15*time.Second, 5*time.Millisecond,
		"never printed %q: %s", want, p.out)
}

// startRun calls run with args in a goroutine until the test ends or the
// process is stopped; the test fails if run returns an error.
func startRun(t *testing.T, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{out: &testutil.SyncBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if err := run(ctx, args, p.out); err != nil {
			t.Errorf("chaind %q: %v", args, err)
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *process) stop() {
	p.cancel()
	<-p.done
}

// masterConfig asks the master for its configuration.
func masterConfig(t *testing.T, tr chain.Transport, addr string) chain.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg, err := masterclient.FetchConfig(ctx, tr, addr)
	require.NoError(t, err)
	return cfg
}

func memberIDs(cfg chain.Config) []string {
	ids := make([]string, len(cfg.Members))
	for i, m := range cfg.Members {
		ids[i] = m.ID
	}
	return ids
}

// TestMasterAndNodesAsSeparateProcesses runs a master and three nodes as
// four run calls on free ports, kills a node, and sees the master shrink
// the chain while a client that follows the master keeps writing; then a
// fourth node started with -addr is added and becomes the tail.
func TestMasterAndNodesAsSeparateProcesses(t *testing.T) {
	ports, err := launch.FreeLocalMembers(5)
	require.NoError(t, err)
	masterAddr := ports[0].Addr
	members := []chain.Member{{ID: "n1", Addr: ports[1].Addr}, {ID: "n2", Addr: ports[2].Addr}, {ID: "n3", Addr: ports[3].Addr}}
	n4Addr := ports[4].Addr
	list := flagvalue.FormatMembers(members)

	m := startProcess(t, "-master", "-listen", masterAddr, "-members", list, "-failure-timeout", "300ms", "-log-level", "error")
	require.Contains(t, m.out.String(), "master listening on "+masterAddr)
	require.Contains(t, m.out.String(), "chainctl -master "+masterAddr+" status")
	nodes := map[string]*process{}
	for _, mem := range members {
		nodes[mem.ID] = startProcess(t, "-id", mem.ID, "-members", list, "-master", masterAddr, "-log-level", "error")
	}
	require.Contains(t, nodes["n1"].out.String(), "node n1 (head) listening on "+members[0].Addr+", in memory, following the master at "+masterAddr)

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	client, err := chain.NewClient(chain.WithTransport(tr), chain.WithMaster(masterAddr),
		chain.WithRetryInterval(10*time.Millisecond, 100*time.Millisecond))
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 10 {
		off, err := client.Append(ctx, []byte{byte(i)})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), off)
	}

	// Kill the middle node: the master removes it and writes go on.
	killed := time.Now()
	nodes["n2"].stop()
	require.Eventually(t, func() bool { return len(masterConfig(t, tr, masterAddr).Members) == 2 }, 10*time.Second, 10*time.Millisecond)
	t.Logf("the master removed n2 %v after it stopped (failure timeout 300ms)", time.Since(killed).Round(time.Millisecond))
	cfg := masterConfig(t, tr, masterAddr)
	require.Equal(t, []string{"n1", "n3"}, memberIDs(cfg))
	require.Equal(t, uint64(2), cfg.Epoch)
	for i := range 10 {
		off, err := client.Append(ctx, []byte{byte(10 + i)})
		require.NoError(t, err)
		require.Equal(t, uint64(11+i), off)
	}

	// A new node joins: it listens on -addr and is added through the master.
	n4 := startProcess(t, "-id", "n4", "-addr", n4Addr, "-master", masterAddr, "-log-level", "error")
	require.Contains(t, n4.out.String(), "node n4 (not yet a member) listening on "+n4Addr)
	require.Contains(t, n4.out.String(), "chainctl -master "+masterAddr+" add-node n4 "+n4Addr)
	resp, err := masterclient.Admin(ctx, tr, []string{masterAddr}, &wire.AdminRequest{Op: wire.AdminAddNode, Member: chain.Member{ID: "n4", Addr: n4Addr}})
	require.NoError(t, err)
	require.Equal(t, []string{"n1", "n3"}, memberIDs(resp.Config))
	require.Eventually(t, func() bool {
		cfg := masterConfig(t, tr, masterAddr)
		return len(cfg.Members) == 3 && cfg.Tail().ID == "n4"
	}, 10*time.Second, 10*time.Millisecond, "n4 never became the tail")
	off, err := client.Append(ctx, []byte("on n4 too"))
	require.NoError(t, err)
	require.Equal(t, uint64(21), off)
	ents, err := client.Read(ctx, 1, 100)
	require.NoError(t, err)
	require.Len(t, ents, 21)
	st, err := client.Status(ctx, n4Addr)
	require.NoError(t, err)
	require.Equal(t, chain.RoleTail, st.Role)
	require.Equal(t, uint64(21), st.CommitPoint)
}

// TestLocalChainRunsAMaster runs chaind with no mode flags: a local chain
// whose nodes follow a master in the same process, one port below them.
func TestLocalChainRunsAMaster(t *testing.T) {
	base, err := launch.FreePortRange(4)
	require.NoError(t, err)
	masterAddr := "127.0.0.1:" + strconv.Itoa(base)
	p := startProcess(t, "-port", strconv.Itoa(base+1), "-failure-timeout", "300ms", "-log-level", "error")
	out := p.out.String()
	require.Contains(t, out, "master listening on "+masterAddr)
	require.Contains(t, out, fmt.Sprintf("node n1 (head) listening on 127.0.0.1:%d, in memory\n", base+1))
	require.Contains(t, out, "chainctl -master "+masterAddr+" status")

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	client, err := chain.NewClient(chain.WithTransport(tr), chain.WithMaster(masterAddr))
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	off, err := client.Append(ctx, []byte("hello"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), off)
	cfg := masterConfig(t, tr, masterAddr)
	require.Equal(t, []string{"n1", "n2", "n3"}, memberIDs(cfg))
	p.stop()
	require.Contains(t, p.out.String(), "shutting down")
}

func TestMasterFlagErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-master"}, "-listen and -members"},
		{[]string{"-master", "-listen", "127.0.0.1:1"}, "-listen and -members"},
		{[]string{"-master", "-id", "n1", "-listen", "127.0.0.1:1", "-members", "n1=127.0.0.1:2"}, "no -id"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-members", "n1=127.0.0.1:2", "-addr", "127.0.0.1:3"}, "-addr"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-members", "n1", "-failure-timeout", "1s"}, "not id=address"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-members", "n1=127.0.0.1:2", "-failure-timeout", "1ms"}, "-failure-timeout"},
		{[]string{"-master", "127.0.0.1:1"}, "-id"},
		{[]string{"-id", "n4", "-master", "127.0.0.1:1"}, "-addr"},
		{[]string{"-id", "n4", "-members", "n1=127.0.0.1:2", "-master", "127.0.0.1:1"}, "-addr"},
		{[]string{"-id", "n1", "-members", "n1=127.0.0.1:2", "-master", "127.0.0.1:1", "-addr", "127.0.0.1:3"}, "in -members"},
		{[]string{"-id", "n4", "-members", "n1=127.0.0.1:2", "-addr", "127.0.0.1:3"}, "-master ADDR"},
		{[]string{"-id", "n1", "-members", "n1=127.0.0.1:2", "-listen", "127.0.0.1:3"}, "-listen"},
		{[]string{"-addr", "127.0.0.1:3"}, "-addr"},
		{[]string{"-port", "1"}, "-port"},
	} {
		var out bytes.Buffer
		err := run(ctx, tc.args, &out)
		require.ErrorContains(t, err, tc.want, "%q", tc.args)
	}
}

func TestSplitMasterArg(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-master"}, []string{"-master"}},
		{[]string{"-master", "-listen", "x"}, []string{"-master", "-listen", "x"}},
		{[]string{"-id", "n1", "-master", "h:1"}, []string{"-id", "n1", "-master=h:1"}},
		{[]string{"--master", "h:1", "-x"}, []string{"--master=h:1", "-x"}},
		{[]string{"-master=h:1"}, []string{"-master=h:1"}},
		{[]string{"--", "-master", "h:1"}, []string{"--", "-master", "h:1"}},
	} {
		require.Equal(t, tc.want, splitMasterArg(tc.in), "%q", tc.in)
	}
}

// TestMasterGroupAsSeparateProcesses runs a group of three masters (raft
// on loopback TCP) and three nodes as six run calls, kills the leader
// master, and checks that a client given every master keeps writing and
// that the configuration survives (the epoch goes on, it does not start
// again).
func TestMasterGroupAsSeparateProcesses(t *testing.T) {
	ports, err := launch.FreeLocalMembers(9)
	require.NoError(t, err)
	var peers, masters []string
	for i := range 3 {
		masters = append(masters, ports[i].Addr)
		peers = append(peers, ports[i].Addr+"="+ports[3+i].Addr)
	}
	members := []chain.Member{{ID: "n1", Addr: ports[6].Addr}, {ID: "n2", Addr: ports[7].Addr}, {ID: "n3", Addr: ports[8].Addr}}
	list := flagvalue.FormatMembers(members)
	masterList := strings.Join(masters, ",")

	ms := map[string]*process{}
	for i, addr := range masters {
		ms[addr] = startProcess(t, "-master", "-listen", addr, "-peers", strings.Join(peers, ","), "-members", list,
			"-failure-timeout", "500ms", "-log-level", "error")
		require.Contains(t, ms[addr].out.String(), "raft on "+ports[3+i].Addr+", one of the group "+masterList)
		require.Contains(t, ms[addr].out.String(), "chainctl -master "+masterList+" status")
	}
	for _, mem := range members {
		startProcess(t, "-id", mem.ID, "-members", list, "-master", masterList, "-log-level", "error")
	}

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	leader := func(from []string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, a := range from {
			if u, err := masterclient.FetchUpdate(ctx, tr, a); err == nil && !u.Follower {
				return a
			}
		}
		return ""
	}
	var old string
	require.Eventually(t, func() bool { old = leader(masters); return old != "" }, 10*time.Second, 20*time.Millisecond)

	client, err := chain.NewClient(chain.WithTransport(tr), chain.WithMaster(masters...),
		chain.WithRetryInterval(10*time.Millisecond, 100*time.Millisecond))
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 5 {
		off, err := client.Append(ctx, []byte{byte(i)})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), off)
	}
	// A change the group commits before its leader dies.
	resp, err := masterclient.Admin(ctx, tr, masters, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n3"}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp.Config.Epoch)

	ms[old].stop()
	require.Contains(t, ms[old].out.String(), "shutting down")
	rest := slices.DeleteFunc(slices.Clone(masters), func(a string) bool { return a == old })
	var nl string
	require.Eventually(t, func() bool { nl = leader(rest); return nl != "" }, 15*time.Second, 20*time.Millisecond, "no new leader")
	cfg := masterConfig(t, tr, nl)
	require.GreaterOrEqual(t, cfg.Epoch, uint64(2), "the configuration was lost")
	require.Equal(t, []string{"n1", "n2"}, memberIDs(cfg))
	for i := range 5 {
		off, err := client.Append(ctx, []byte{byte(5 + i)})
		require.NoError(t, err)
		require.Equal(t, uint64(6+i), off)
	}
	// Admin requests reach the new leader from any list of the masters.
	resp, err = masterclient.Admin(ctx, tr, masters, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n2"}})
	require.NoError(t, err)
	require.Equal(t, []string{"n1"}, memberIDs(resp.Config))
	require.Greater(t, resp.Config.Epoch, cfg.Epoch)
	off, err := client.Append(ctx, []byte("last"))
	require.NoError(t, err)
	require.Equal(t, uint64(11), off)
}

func TestMasterGroupFlagErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-id", "n1", "-members", "n1=127.0.0.1:2", "-raft", "127.0.0.1:3"}, "for a master"},
		{[]string{"-peers", "a=b"}, "for a master"},
		{[]string{"-master", "-join", "-listen", "127.0.0.1:1"}, "-listen and -raft"},
		{[]string{"-master", "-join", "-listen", "127.0.0.1:1", "-raft", "127.0.0.1:2", "-members", "n1=127.0.0.1:3"}, "no -members"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-members", "n1=127.0.0.1:3", "-peers", "127.0.0.1:9=127.0.0.1:2"}, "does not list"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-members", "n1=127.0.0.1:3", "-peers", "127.0.0.1:1=127.0.0.1:2", "-raft", "127.0.0.1:4"}, "not this master's raft"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-members", "n1=127.0.0.1:3", "-peers", "127.0.0.1:1"}, "not addr=raftaddr"},
		{[]string{"-id", "n1", "-members", "n1=127.0.0.1:2", "-master", ","}, "no address"},
	} {
		var out bytes.Buffer
		err := run(ctx, tc.args, &out)
		require.ErrorContains(t, err, tc.want, "%q", tc.args)
	}
}

// TestMasterStateSurvivesARestartWithData restarts a master that keeps
// its raft log under -data: it comes back with the configuration it had,
// not the one of -members and -epoch.
func TestMasterStateSurvivesARestartWithData(t *testing.T) {
	ports, err := launch.FreeLocalMembers(5)
	require.NoError(t, err)
	masterAddr, raftAddr := ports[0].Addr, ports[1].Addr
	list := flagvalue.FormatMembers([]chain.Member{{ID: "n1", Addr: ports[2].Addr}, {ID: "n2", Addr: ports[3].Addr}, {ID: "n3", Addr: ports[4].Addr}})
	args := []string{"-master", "-listen", masterAddr, "-raft", raftAddr, "-members", list, "-data", t.TempDir(), "-log-level", "error"}

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := startProcess(t, args...)
	resp, err := masterclient.Admin(ctx, tr, []string{masterAddr}, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: "n2"}})
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp.Config.Epoch)
	m.stop()

	startProcess(t, args...)
	cfg := masterConfig(t, tr, masterAddr)
	require.Equal(t, uint64(2), cfg.Epoch)
	require.Equal(t, []string{"n1", "n3"}, memberIDs(cfg))
}
