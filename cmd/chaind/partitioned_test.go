package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/tcp"
)

// startCluster is startProcess for the partitioned modes, which print
// "reach the cluster".
func startCluster(t *testing.T, args ...string) *process {
	t.Helper()
	p := startRun(t, args...)
	waitFor(t, p, "reach the cluster")
	return p
}

// kvRoundTrip writes and reads keys through a partition client of the
// cluster the master at addr manages.
func kvRoundTrip(t *testing.T, masterAddr string, keys int) {
	t.Helper()
	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	pc, err := partition.NewClient(partition.Options{Transport: tr, Masters: []string{masterAddr}})
	require.NoError(t, err)
	defer pc.Close()
	kvc := kv.NewPartitionedClient(pc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range keys {
		require.NoError(t, kvc.Put(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprintf("v%d", i))))
	}
	for i := range keys {
		v, found, err := kvc.Get(ctx, fmt.Sprintf("k%d", i))
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, fmt.Sprintf("v%d", i), string(v))
	}
}

// TestLocalPartitionedCluster runs chaind -chains: a master and servers
// in one process, on consecutive ports.
func TestLocalPartitionedCluster(t *testing.T) {
	base, err := launch.FreePortRange(3)
	require.NoError(t, err)
	masterAddr := "127.0.0.1:" + strconv.Itoa(base)
	p := startCluster(t, "-chains", "4", "-servers", "2", "-port", strconv.Itoa(base+1), "-failure-timeout", "300ms", "-log-level", "error")
	out := p.out.String()
	require.Contains(t, out, "master listening on "+masterAddr+" (failure timeout 300ms), 4 chains of 2 replicas, created once 2 servers report\n")
	require.Contains(t, out, fmt.Sprintf("server s1 listening on 127.0.0.1:%d, in memory\n", base+1))
	require.Contains(t, out, fmt.Sprintf("server s2 listening on 127.0.0.1:%d, in memory\n", base+2))
	require.Contains(t, out, "4 chains created\n")
	require.Contains(t, out, "chainctl -master "+masterAddr+" status")

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, _, err := masterclient.FetchCluster(ctx, tr, masterAddr)
	require.NoError(t, err)
	require.Len(t, u.Cluster.Chains, 4)
	for _, ch := range u.Cluster.Chains {
		require.Len(t, ch.Config.Members, 2)
	}
	kvRoundTrip(t, masterAddr, 20)
	p.stop()
	require.Contains(t, p.out.String(), "shutting down")
}

// TestPartitionedMasterAndServers runs the master of a partitioned
// cluster and three servers as run calls, the servers on Pebble, then
// restarts the servers on their data and reads back.
func TestPartitionedMasterAndServers(t *testing.T) {
	ports, err := launch.FreeLocalMembers(4)
	require.NoError(t, err)
	masterAddr := ports[0].Addr
	data := t.TempDir()
	m := startCluster(t, "-master", "-listen", masterAddr, "-chains", "3", "-replicas", "3", "-failure-timeout", "500ms", "-log-level", "error")
	out := m.out.String()
	require.Contains(t, out, "master listening on "+masterAddr+" (failure timeout 500ms), 3 chains of 3 replicas, created once 3 servers report\n")
	require.Contains(t, out, "start each server (at least 3) with:\n  chaind -server ID -listen HOST:PORT -master "+masterAddr+"\n")
	require.Contains(t, out, "chainctl -master "+masterAddr+" status\n")

	start := func() []*process {
		var ps []*process
		for i := range 3 {
			id := fmt.Sprintf("s%d", i+1)
			p := startCluster(t, "-server", id, "-listen", ports[1+i].Addr, "-master", masterAddr, "-data", data+"/"+id, "-log-level", "error")
			require.Contains(t, p.out.String(), "server "+id+" listening on "+ports[1+i].Addr+", on Pebble under "+data+"/"+id+", following the master at "+masterAddr+"\n")
			ps = append(ps, p)
		}
		return ps
	}
	servers := start()
	kvRoundTrip(t, masterAddr, 10)
	for _, s := range servers {
		s.stop()
		require.Contains(t, s.out.String(), "shutting down")
	}
	start()
	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	pc, err := partition.NewClient(partition.Options{Transport: tr, Masters: []string{masterAddr}})
	require.NoError(t, err)
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, found, err := kv.NewPartitionedClient(pc).Get(ctx, "k7")
	require.NoError(t, err)
	require.True(t, found, "a key was lost across the servers' restart")
	require.Equal(t, "v7", string(v))
}

func TestPartitionedFlagErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-chains", "0"}, "-chains must be at least 1"},
		{[]string{"-chains", "-2"}, "-chains must be at least 1"},
		{[]string{"-chains", "2000"}, "at most 1024"},
		{[]string{"-chains", "4", "-replicas", "0"}, "-replicas must be at least 1"},
		{[]string{"-chains", "4", "-servers", "0"}, "-servers must be at least 1"},
		{[]string{"-chains", "4", "-servers", "2", "-replicas", "3"}, "-replicas 3 needs at least 3 -servers"},
		{[]string{"-chains", "4", "-port", "65535"}, "-servers and -port"},
		{[]string{"-chains", "4", "-nodes", "5"}, "-nodes is for a local chain"},
		{[]string{"-chains", "4", "-epoch", "5"}, "-epoch is for one chain"},
		{[]string{"-replicas", "2"}, "need -chains"},
		{[]string{"-servers", "2"}, "need -chains"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-chains", "4", "-members", "n1=127.0.0.1:2"}, "-chains and -members are exclusive"},
		{[]string{"-master", "-listen", "127.0.0.1:1"}, "-listen and -chains"},
		{[]string{"-master", "-chains", "4"}, "-master needs -listen"},
		{[]string{"-master", "-listen", "127.0.0.1:1", "-chains", "4", "-servers", "6"}, "-servers and -port are for a local cluster"},
		{[]string{"-master", "-join", "-listen", "127.0.0.1:1", "-raft", "127.0.0.1:2", "-chains", "4"}, "-join takes no -chains"},
		{[]string{"-id", "n1", "-chains", "4"}, "not a node (-id)"},
		{[]string{"-chains", "4", "-master", "127.0.0.1:1"}, "a server follows the masters with -server ID -master ADDR"},
		{[]string{"-server", "s1"}, "-server needs -listen and -master ADDR"},
		{[]string{"-server", "s1", "-listen", "127.0.0.1:1"}, "-server needs -listen and -master ADDR"},
		{[]string{"-server", "s1", "-master", "-listen", "127.0.0.1:1"}, "not alone"},
		{[]string{"-server", "s1", "-id", "n1", "-listen", "127.0.0.1:1", "-master", "127.0.0.1:2"}, "-server and -id are exclusive"},
		{[]string{"-server", "a/b", "-listen", "127.0.0.1:1", "-master", "127.0.0.1:2"}, "must not contain /"},
		{[]string{"-server", "s1", "-listen", "127.0.0.1:1", "-master", "127.0.0.1:2", "-chains", "4"}, "-server takes no -chains"},
		{[]string{"-server", "s1", "-listen", "127.0.0.1:1", "-master", "127.0.0.1:2", "-members", "n1=127.0.0.1:3"}, "-server takes no -members"},
		{[]string{"-server", "s1", "-listen", "127.0.0.1:1", "-master", "127.0.0.1:2", "-failure-timeout", "1s"}, "-server takes no -failure-timeout"},
		{[]string{"-server", "s1", "-listen", "127.0.0.1:1", "-master", ","}, "-master: no address"},
	} {
		var out bytes.Buffer
		err := run(ctx, tc.args, &out)
		require.ErrorContains(t, err, tc.want, "%q", tc.args)
		require.NotContains(t, err.Error(), "\n", "%q", tc.args)
	}
}
