package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/tcp"
)

// buildChaind builds the chaind program into a temporary directory.
func buildChaind(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chaind")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/chainrep/chain/cmd/chaind")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build chaind: %s", out)
	return bin
}

// proc is a chaind process.
type proc struct {
	name     string
	cmd      *exec.Cmd
	out, err *testutil.SyncBuffer
	done     chan struct{}
}

// startChaind starts chaind with args and waits (at most 15s) until it
// prints how to reach the cluster; it is killed at the end of the test.
func startChaind(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &testutil.SyncBuffer{}, err: &testutil.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	require.Eventually(t, func() bool {
		select {
		case <-p.done:
			return true
		default:
			return strings.Contains(p.out.String(), "reach the cluster")
		}
	}, 15*time.Second, 5*time.Millisecond, "%s never got ready", name)
	select {
	case <-p.done:
		t.Fatalf("%s exited: %s%s", name, p.out, p.err)
	default:
	}
	return p
}

// kill kills the process (SIGKILL) and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// status runs chainctl --json status and decodes it.
func partitionedStatus(t *testing.T, masters string) (clusterStatus, error) {
	t.Helper()
	out, err := ctl(t, "-master", masters, "-timeout", "3s", "--json", "status")
	if err != nil {
		return clusterStatus{}, err
	}
	var st clusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return clusterStatus{}, fmt.Errorf("%w: %s", err, out)
	}
	return st, nil
}

// settled reports why the cluster is not yet at chains chains of
// replicas members each, every member on a live server other than dead,
// no node joining, and alive servers alive; nil once it is.
func settled(st clusterStatus, chains, replicas, alive int, dead string) error {
	live := map[string]bool{}
	for _, s := range st.Servers {
		if s.Alive {
			live[s.ID] = true
		}
	}
	if len(live) != alive {
		return fmt.Errorf("%d servers alive, want %d", len(live), alive)
	}
	if len(st.Chains) != chains {
		return fmt.Errorf("%d chains, want %d", len(st.Chains), chains)
	}
	for _, ch := range st.Chains {
		if len(ch.Members) != replicas || ch.Joining != nil {
			return fmt.Errorf("chain %s: %d members, joining %v", ch.ID, len(ch.Members), ch.Joining)
		}
		for _, m := range ch.Members {
			srv, _, _ := strings.Cut(m.ID, "/")
			if !live[srv] || srv == dead {
				return fmt.Errorf("chain %s: member %s is not on a live server", ch.ID, m.ID)
			}
		}
	}
	return nil
}

// TestPartitionedClusterAsProcesses runs a master (8 chains of 3
// replicas) and 6 servers as chaind processes on loopback, writes 50
// keys through chainctl, kills a server with SIGKILL, waits until every
// chain is back to 3 members on live servers, and reads every key back.
func TestPartitionedClusterAsProcesses(t *testing.T) {
	bin := buildChaind(t)
	ports, err := launch.FreeLocalMembers(7)
	require.NoError(t, err)
	masterAddr := ports[0].Addr
	m := startChaind(t, bin, "master", "-master", "-listen", masterAddr, "-chains", "8", "-replicas", "3",
		"-failure-timeout", "500ms", "-log-level", "error")
	require.Contains(t, m.out.String(), "master listening on "+masterAddr+" (failure timeout 500ms), 8 chains of 3 replicas")
	require.Contains(t, m.out.String(), "chainctl -master "+masterAddr+" status")
	servers := map[string]*proc{}
	for i := range 6 {
		id := fmt.Sprintf("s%d", i+1)
		servers[id] = startChaind(t, bin, id, "-server", id, "-listen", ports[1+i].Addr, "-master", masterAddr, "-log-level", "error")
		require.Contains(t, servers[id].out.String(), "server "+id+" listening on "+ports[1+i].Addr+", in memory, following the master at "+masterAddr)
	}
	runPartitionedScenario(t, masterAddr, servers, nil)
}

// TestPartitionedClusterWithThreeMastersAsProcesses runs the scenario of
// TestPartitionedClusterAsProcesses with a group of 3 masters, and kills
// the leading master (SIGKILL) while the chains of the killed server
// reconfigure.
func TestPartitionedClusterWithThreeMastersAsProcesses(t *testing.T) {
	bin := buildChaind(t)
	ports, err := launch.FreeLocalMembers(12)
	require.NoError(t, err)
	var peers, addrs []string
	for i := range 3 {
		peers = append(peers, ports[i].Addr+"="+ports[3+i].Addr)
		addrs = append(addrs, ports[i].Addr)
	}
	masters := strings.Join(addrs, ",")
	group := map[string]*proc{}
	for i := range 3 {
		group[addrs[i]] = startChaind(t, bin, fmt.Sprintf("master%d", i+1), "-master", "-listen", addrs[i],
			"-peers", strings.Join(peers, ","), "-chains", "8", "-replicas", "3", "-failure-timeout", "500ms", "-log-level", "error")
	}
	servers := map[string]*proc{}
	for i := range 6 {
		id := fmt.Sprintf("s%d", i+1)
		servers[id] = startChaind(t, bin, id, "-server", id, "-listen", ports[6+i].Addr, "-master", masters, "-log-level", "error")
	}
	runPartitionedScenario(t, masters, servers, func() {
		time.Sleep(300 * time.Millisecond) // the master is reconfiguring the victim's chains
		st, err := partitionedStatus(t, masters)
		require.NoError(t, err)
		require.NotEmpty(t, st.Leader)
		group[st.Leader].kill()
		t.Logf("killed the leading master %s", st.Leader)
	})
}

// waitSettled waits (at most 20s) until the cluster has 8 chains of 3
// members on live servers other than dead, and alive servers alive.
func waitSettled(t *testing.T, masters string, alive int, dead string) clusterStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, why := partitionedStatus(t, masters)
		if why == nil {
			why = settled(st, 8, 3, alive, dead)
		}
		if why == nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not settle in 20s: %v", why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runPartitionedScenario checks the cluster the masters manage: every
// chain placed, 50 keys written and read back, a server killed (then
// afterKill run, if any) and its replicas replaced, the keys read again.
func runPartitionedScenario(t *testing.T, masters string, servers map[string]*proc, afterKill func()) {
	t.Helper()
	st := waitSettled(t, masters, len(servers), "")

	keys := make([]string, 50)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%02d", i)
		out, err := ctl(t, "-master", masters, "put", keys[i], "value-"+keys[i])
		require.NoError(t, err)
		require.Equal(t, "ok\n", out)
	}
	readAll := func() {
		t.Helper()
		for _, k := range keys {
			out, err := ctl(t, "-master", masters, "-timeout", "10s", "get", k)
			require.NoError(t, err, k)
			require.Equal(t, fmt.Sprintf("%q\n", "value-"+k), out, k)
		}
	}
	readAll()

	// Every chain holds some of the keys: the log of each has entries.
	used := 0
	for _, ch := range st.Chains {
		out, err := ctl(t, "-master", masters, "-chain", ch.ID, "latest")
		require.NoError(t, err)
		if out != "commit point 0\n" {
			used++
		}
	}
	require.Greater(t, used, 1, "the keys all went to one chain")

	// Kill the server holding the most replicas.
	victim := ""
	most := -1
	for _, s := range st.Servers {
		if s.Replicas > most {
			victim, most = s.ID, s.Replicas
		}
	}
	killed := time.Now()
	servers[victim].kill()
	if afterKill != nil {
		afterKill()
	}
	st = waitSettled(t, masters, len(servers)-1, victim)
	t.Logf("every chain back to 3 members %v after %s (%d replicas) was killed", time.Since(killed).Round(time.Millisecond), victim, most)
	for _, s := range st.Servers {
		require.Equal(t, s.ID != victim, s.Alive, "server %s", s.ID)
	}
	readAll()
	out, err := ctl(t, "-master", masters, "put", "after", "kill")
	require.NoError(t, err)
	require.Equal(t, "ok\n", out)
}

// partitionedCluster runs a master of chains chains of 3 replicas and
// servers servers in this process, over loopback TCP, and returns the
// master's address.
func partitionedCluster(t *testing.T, chains, servers int) string {
	t.Helper()
	ports, err := launch.FreeLocalMembers(1 + servers)
	require.NoError(t, err)
	tr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = tr.Close() })
	pc := launch.PartitionedConfig{MasterAddr: ports[0].Addr, Chains: chains, Replicas: 3, Transport: tr,
		FailureTimeout: 500 * time.Millisecond}
	for _, port := range ports[1:] {
		pc.ServerAddrs = append(pc.ServerAddrs, port.Addr)
	}
	p, err := launch.StartPartitioned(pc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, p.WaitPlaced(ctx))
	return ports[0].Addr
}

// TestCommandsOnAPartitionedCluster runs every command against a
// partitioned cluster: keyed ones route by key, log ones need -chain.
func TestCommandsOnAPartitionedCluster(t *testing.T) {
	master := partitionedCluster(t, 4, 3)
	c := func(args ...string) (string, error) { return ctl(t, append([]string{"-master", master}, args...)...) }

	for i := range 10 {
		out, err := c("put", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
		require.NoError(t, err)
		require.Equal(t, "ok\n", out)
	}
	out, err := c("get", "k3")
	require.NoError(t, err)
	require.Equal(t, "\"v3\"\n", out)
	out, err = c("--json", "get", "k4")
	require.NoError(t, err)
	require.JSONEq(t, `{"key":"k4","value":"v4","found":true}`, out)
	out, err = c("delete", "k3")
	require.NoError(t, err)
	require.Equal(t, "deleted (existed: true)\n", out)
	out, err = c("get", "k3")
	require.NoError(t, err)
	require.Equal(t, "(not found)\n", out)

	for _, args := range [][]string{{"append", "x"}, {"read", "1"}, {"latest"}, {"do", "kv.len"}, {"query", "kv.len"},
		{"remove-node", "s1/c0"}, {"add-node", "n9", "127.0.0.1:1"}} {
		_, err := c(args...)
		require.EqualError(t, err, "this cluster has 4 chains: name one with -chain", "%q", args)
	}
	_, err = c("-chain", "c9", "latest")
	require.EqualError(t, err, `no chain "c9" in this cluster (its chains: c0, c1, c2, c3)`)

	out, err = c("-chain", "c2", "append", "hello")
	require.NoError(t, err)
	require.Regexp(t, `^appended at offset \d+\n$`, out)
	out, err = c("-chain", "c2", "--json", "latest")
	require.NoError(t, err)
	var latest struct{ Commit uint64 }
	require.NoError(t, json.Unmarshal([]byte(out), &latest))
	out, err = c("-chain", "c2", "read", fmt.Sprint(latest.Commit))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%d \"hello\"\n", latest.Commit), out)
	_, err = c("-chain", "c1", "query", "kv.len")
	require.NoError(t, err)

	out, err = c("status")
	require.NoError(t, err)
	require.Contains(t, out, "masters:\n  "+master+"  leader\n")
	require.Regexp(t, `(?m)^  s1\s+127\.0\.0\.1:\d+\s+yes\s+4$`, out)
	require.Regexp(t, `(?m)^  c0\s+\[0,256\)\s+1\s+s\d/c0 s\d/c0 s\d/c0\s+-$`, out)
	require.Regexp(t, `(?m)^  c3\s+\[768,1024\)\s+1\s+`, out)

	st, err := partitionedStatus(t, master)
	require.NoError(t, err)
	require.Equal(t, master, st.Leader)
	require.Equal(t, []masterState{{Addr: master, State: "leader", Leader: master}}, st.Masters)
	require.Len(t, st.Servers, 3)
	require.Len(t, st.Chains, 4)
	for i, ch := range st.Chains {
		require.Equal(t, fmt.Sprintf("c%d", i), ch.ID)
		require.Equal(t, uint32(i*256), ch.SlotLo)
		require.Equal(t, uint32((i+1)*256), ch.SlotHi)
		require.Equal(t, []string{"head", "middle", "tail"}, []string{ch.Members[0].Role, ch.Members[1].Role, ch.Members[2].Role})
	}

	// Admin commands name their chain.
	victim := st.Chains[1].Members[1].ID
	out, err = c("-chain", "c1", "remove-node", victim)
	require.NoError(t, err)
	require.Contains(t, out, "chain c1: removed "+victim+"\nmaster "+master+": epoch 2, joining: none\n")
	// A node the chain does not hold is refused by name. (Not the victim
	// again: the master may already have placed a replica in its stead on
	// the same server, under the same id.)
	_, err = c("-chain", "c1", "remove-node", "n-none")
	require.ErrorContains(t, err, `no node "n-none"`)
	out, err = c("-chain", "c0", "--json", "remove-node", st.Chains[0].Members[0].ID)
	require.NoError(t, err)
	var removed struct {
		Op, ID, Chain string
		Config        masterView
	}
	require.NoError(t, json.Unmarshal([]byte(out), &removed))
	require.Equal(t, "c0", removed.Chain)
	require.Len(t, removed.Config.Members, 2)

	// Interactive: the console keeps -chain.
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, run(ctx, []string{"-master", master, "-chain", "c3"}, stdio{in: strings.NewReader("append a\nget k1\nlatest\n"), out: &buf, errOut: &buf}))
	require.Regexp(t, `(?m)^appended at offset \d+\n`, buf.String())
	require.Contains(t, buf.String(), "\"v1\"\n")
	require.Contains(t, buf.String(), "commit point ")
}

// TestChainFlagNeedsAPartitionedCluster: -chain against one chain is an
// error, and a partitioned cluster's single-chain paths stay apart.
func TestChainFlagNeedsAPartitionedCluster(t *testing.T) {
	members := startChain(t)
	_, err := chainctl(t, members, "", "-chain", "c0", "latest")
	require.ErrorContains(t, err, "-chain names a chain of a partitioned cluster")
	c := startMasterChain(t)
	_, err = ctl(t, "-master", c.master, "-chain", "c0", "latest")
	require.ErrorContains(t, err, "-chain names a chain of a partitioned cluster")
	out, err := ctl(t, "-master", c.master, "latest")
	require.NoError(t, err)
	require.Equal(t, "commit point 0\n", out)
}
