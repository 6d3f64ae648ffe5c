// Command chaind runs chain nodes and the configuration master, or the
// master and servers of a partitioned cluster.
//
// With no flags it starts a local 3-node chain in one process, on loopback
// TCP ports 7001-7003 and in memory, with a configuration master on port
// 7000 that the nodes follow, and prints how to reach it:
//
//	chaind
//	chaind -data /tmp/chain            # the same, durable on Pebble
//
// With -master (and no address) it runs the configuration master of a
// chain whose initial members are listed head first. The master removes a
// node that misses heartbeats for the failure timeout, and adds nodes on
// request (chainctl add-node):
//
//	chaind -master -listen 127.0.0.1:7000 -members n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 [-failure-timeout 1s]
//
// With -id it runs one node of the chain. With -master ADDR the node
// follows the master at ADDR, or the group of masters at ADDR,ADDR,...
// (spelled exactly as the masters' -listen addresses: nodes recognise the
// masters' messages by them);
// it fences itself (stops serving) when it loses contact with the master
// for half the failure timeout. Without -master the configuration given by
// -members is static:
//
//	chaind -id n1 -members n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 -master 127.0.0.1:7000 -data /var/lib/chain
//	chaind -id n1 -members n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 -data /var/lib/chain
//
// A node that is not among the initial members needs -addr and -master; it
// joins behind the tail, catches up and becomes the tail once it is added:
//
//	chaind -id n4 -addr 127.0.0.1:7004 -master 127.0.0.1:7000
//	chainctl -master 127.0.0.1:7000 add-node n4 127.0.0.1:7004
//
// Every node runs the key-value store of package kv (commands kv.put,
// kv.delete, kv.cas; queries kv.get, kv.len) besides raw appends. SIGINT or
// SIGTERM stops it cleanly: the nodes close and the storage is flushed.
//
// Masters can run as a replicated group (on raft): start each with the
// same -peers, the list of every master's address (its -listen) and raft
// address (its -raft, a TCP address the other masters dial), and the same
// -members. The group survives the loss of a minority of its masters;
// only its leader reconfigures the chain, the others redirect admin
// requests to it. Nodes and chainctl take the list of the masters'
// addresses, comma-separated:
//
//	chaind -master -listen 127.0.0.1:7000 -raft 127.0.0.1:7100 -peers 127.0.0.1:7000=127.0.0.1:7100,127.0.0.1:7010=127.0.0.1:7110,127.0.0.1:7020=127.0.0.1:7120 -members ...
//	chaind -id n1 -members ... -master 127.0.0.1:7000,127.0.0.1:7010,127.0.0.1:7020
//
// A master started with -join (and -listen and -raft, no -members) starts
// empty and waits for the group's leader to add it (chainctl add-master
// ADDR RAFTADDR): it joins as a raft non-voter and becomes a voter once it
// has caught up with the leader; one that does not answer or catch up in
// time is removed again, and chainctl says why. chainctl remove-master
// refuses a master not in the group, and a removal that would leave the
// group without a quorum of reachable masters. With -tls-*, raft between
// masters runs over the same mutual TLS as the rest: a master accepts raft
// connections only from peers with a certificate of the -tls-ca, and each
// master's certificate must name the host of its -raft address.
//
// A partitioned cluster spreads keys over many chains: a master started
// with -chains N (instead of -members) manages N chains of -replicas
// replicas each (default 3), each chain serving a range of the slots keys
// hash into, and places their replicas on the servers that report to it.
// It creates the chains once -replicas servers have reported, replaces
// the replicas of a server that stops reporting for the failure timeout,
// and moves replicas to new servers. -peers, -raft and -data work as for
// the master of one chain:
//
//	chaind -master -listen 127.0.0.1:7000 -chains 8 -replicas 3 [-failure-timeout 1s]
//
// A server (-server ID, an id without "/") listens on -listen and hosts
// the replicas the masters place on it, each running the key-value store;
// with -data DIR each keeps its log on Pebble under DIR/<chain id>, and
// a restarted server keeps its replicas (in memory, they rejoin their
// chains as new replicas):
//
//	chaind -server s1 -listen 127.0.0.1:7101 -master 127.0.0.1:7000 [-data /var/lib/chain/s1]
//	chainctl -master 127.0.0.1:7000 put KEY VALUE   # goes to the chain that serves KEY
//	chainctl -master 127.0.0.1:7000 status          # masters, servers and chains
//
// With -chains and none of -master, -id and -server, chaind runs a local
// partitioned cluster in one process: a master on 127.0.0.1:<port-1> and
// -servers servers (default 3, ids s1, s2, ...) on ports -port, -port+1,
// ..., with -replicas min(3, -servers) unless given; with -data DIR the
// servers keep their logs under DIR/<server id> and the master its state
// under DIR/master:
//
//	chaind -chains 8                   # 8 chains of 3 replicas on 3 servers
//	chaind -chains 16 -servers 5 -data /tmp/cluster
//
// Without -data the master keeps its state in memory: a restarted master
// (or a whole group restarted at once) starts again from -members at
// -epoch, so give it an -epoch above any the chain has reached (its log
// says which), and the current members. With -data DIR the master keeps
// its raft log and snapshots in DIR, and its state survives restarts.
//
// With -metrics ADDR (in every mode) chaind serves the Prometheus metrics
// of what it runs (nodes, their Pebble storage, masters, servers'
// replicas, the TCP transport, the Go runtime) on http://ADDR/metrics and
// Go's profiles on http://ADDR/debug/pprof/; deploy/grafana/chain.json is
// a dashboard of them.
//
// With -tls-cert, -tls-key and -tls-ca every connection is mutual TLS, and
// each peer's certificate names its role and identity (chainctl certs
// makes them; see the README's Security section): nodes, masters and
// servers act only on the messages the sender's role allows; chaind checks
// at start that its own certificate names the role, id and address its
// flags give it (a local chain or cluster, every role in one process,
// takes no -tls-*). Without TLS
// chaind listens only on loopback addresses: it refuses any other unless
// given -insecure, which runs it unauthenticated (and says so in its log).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain/internal/cli"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/wire"
)

func main() {
	cli.Main("chaind", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout)
	}, nil)
}

// flags are chaind's command line.
type flags struct {
	id, members, data      string
	addr, listen           string
	master                 masterFlag
	raft, peers            string
	join                   bool
	failureTimeout         time.Duration
	epoch                  uint64
	nodes, port            int
	chains, replicas       int
	server                 string
	servers                int
	noSync                 bool
	logLevel               string
	metrics                string
	tlsCert, tlsKey, tlsCA string
	insecure               bool
	// set holds the flags given on the command line.
	set map[string]bool
}

// masterFlag is -master: alone it asks for master mode, with an address
// (-master ADDR or -master=ADDR) it names the master a node follows, or
// the comma-separated addresses of a group of masters.
type masterFlag struct {
	run  bool
	addr string
}

func (m *masterFlag) String() string {
	if m == nil || m.addr == "" {
		return ""
	}
	return m.addr
}

func (m *masterFlag) Set(s string) error {
	switch s {
	case "true":
		m.run = true
	case "false":
		m.run = false
	case "":
		return errors.New("empty address")
	default:
		m.addr = s
	}
	return nil
}

// IsBoolFlag lets -master stand alone; splitMasterArg turns "-master ADDR"
// into "-master=ADDR".
func (m *masterFlag) IsBoolFlag() bool { return true }

// splitMasterArg rewrites "-master ADDR" as "-master=ADDR": -master is a
// boolean flag when alone, and chaind takes no positional arguments, so a
// word that follows it is its address.
func splitMasterArg(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "-master" || a == "--master") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("chaind", flag.ContinueOnError)
	// The flag set writes nothing: -h prints the flags below, and a bad
	// flag is one line.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.id, "id", "", "run the one node with this id (needs -members, or -master ADDR and -addr); without it, run a local chain")
	fs.IntVar(&f.chains, "chains", 0, "partitioned cluster: with -master alone, run the master of a cluster of this many chains\n"+
		"(instead of -members); without -master, -id and -server, run a local cluster of them")
	fs.IntVar(&f.replicas, "replicas", 3, "partitioned cluster: replicas of each chain (local cluster: default min(3, -servers))")
	fs.StringVar(&f.server, "server", "", "run the server with this id of a partitioned cluster (needs -listen and -master ADDR):\n"+
		"it hosts the replicas the masters place on it")
	fs.IntVar(&f.servers, "servers", 3, "local partitioned cluster (-chains): number of servers, s1 on -port, s2 on -port+1, ...")
	fs.StringVar(&f.members, "members", "", "the chain's members, head first: id=host:port,... (with -master, its initial members)")
	fs.Var(&f.master, "master", "alone: run the configuration master (needs -listen, and -members or -chains);\n"+
		"with an address (-master ADDR[,ADDR...]): the master (or group of masters) the node or server follows, spelled as their -listen")
	fs.StringVar(&f.raft, "raft", "", "master: the TCP address of its raft transport, dialled by the other masters of its group\n"+
		"(default: its address in -peers; mutual TLS with -tls-*)")
	fs.StringVar(&f.peers, "peers", "", "master: the initial group of masters, this one included: addr=raftaddr,... (addr as each master's -listen;\n"+
		"every master of the group gets the same list); default: a single master")
	fs.BoolVar(&f.join, "join", false, "master: start empty (needs -raft, no -members) and wait for the group's leader to add it")
	fs.StringVar(&f.listen, "listen", "", "master or server: the address it listens on (local chain or cluster: the master's, default 127.0.0.1:<port-1>)")
	fs.StringVar(&f.addr, "addr", "", "node: the address it listens on when it is not in -members (it joins through chainctl add-node)")
	fs.DurationVar(&f.failureTimeout, "failure-timeout", master.DefaultFailureTimeout,
		"master (and local chain or cluster): how long a node or server may miss heartbeats before it is removed\n"+
			"(nodes fence themselves after half)")
	fs.StringVar(&f.data, "data", "", "keep each node's log on Pebble under this directory (a server's: one per chain, DIR/<chain id>),\n"+
		"or the master's raft log and snapshots (default: in memory)")
	fs.Uint64Var(&f.epoch, "epoch", 1, "the configuration epoch (of -members)")
	fs.IntVar(&f.nodes, "nodes", 3, "local chain: number of nodes")
	fs.IntVar(&f.port, "port", 7001, "local chain or cluster: first port; node (or server) i listens on port+i-1")
	fs.BoolVar(&f.noSync, "nosync", false, "do not fsync Pebble writes (acknowledged writes may be lost on a machine crash; benchmarks only)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on http://ADDR/metrics and profiles on /debug/pprof/ (say 127.0.0.1:9100)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate for mutual TLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for mutual TLS")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM CA certificate that signs every node's and client's certificate")
	fs.BoolVar(&f.insecure, "insecure", false, "listen on a non-loopback address without TLS (refused otherwise): peers are not authenticated")
	if err := fs.Parse(splitMasterArg(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "usage: chaind [flags]   (go doc github.com/chainrep/chain/cmd/chaind shows how to run each kind)")
			fs.SetOutput(out)
			fs.PrintDefaults()
			return f, err
		}
		return f, fmt.Errorf("%w (chaind -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if err := f.checkPartitioned(); err != nil || f.server != "" {
		return f, err
	}
	return f, f.check()
}

// check rejects combinations of flags that make no sense.
func (f *flags) check() error {
	switch {
	case f.master.run && f.master.addr != "":
		return errors.New("-master is either alone (run the master) or an address (follow it), not both")
	case f.master.run && f.id != "":
		return errors.New("-master runs the master: it takes no -id (run each node with -master ADDR)")
	case !f.master.run && (f.raft != "" || f.peers != "" || f.join):
		return errors.New("-raft, -peers and -join are for a master (-master alone)")
	case f.master.run && f.join && (f.listen == "" || f.raft == ""):
		return errors.New("-master -join needs -listen and -raft")
	case f.master.run && f.join && (f.members != "" || f.peers != ""):
		return errors.New("-master -join takes no -members or -peers: it gets the group's state once added")
	case f.master.run && !f.join && (f.listen == "" || (f.members == "" && f.chains == 0)):
		return errors.New("-master needs -listen and -members (one chain), or -listen and -chains (a partitioned cluster)")
	case f.master.run && f.addr != "":
		return errors.New("-addr is for a node, not the master")
	case f.failureTimeout < 10*time.Millisecond:
		return errors.New("-failure-timeout must be at least 10ms")
	case f.id == "" && f.master.addr != "":
		return errors.New("-master ADDR needs -id (a local chain runs its own master)")
	case f.id == "" && !f.master.run && f.addr != "":
		return errors.New("-addr needs -id and -master ADDR")
	case f.id != "" && f.listen != "":
		return errors.New("-listen is for the master; a node listens on its address in -members, or -addr")
	case f.id != "" && f.master.addr == "" && f.members == "":
		return errors.New("-id needs -members (or -master ADDR and -addr)")
	case f.id != "" && f.master.addr == "" && f.addr != "":
		return errors.New("-addr needs -master ADDR: only a master can add a node")
	case f.nodes < 1 || f.port < 1 || f.port+f.nodes > 65536:
		return errors.New("-nodes and -port must give ports within 1-65535")
	case f.id == "" && !f.master.run && f.listen == "" && f.port < 2:
		return errors.New("-port must be at least 2 for the local master on port-1 (or give -listen)")
	}
	return nil
}

// serverFlags are the flags a server takes besides -server.
var serverFlags = []string{"listen", "master", "data", "nosync", "log-level", "metrics", "tls-cert", "tls-key", "tls-ca", "insecure"}

// checkPartitioned rejects combinations of the partitioned cluster's
// flags (-chains, -replicas, -server, -servers) that make no sense.
func (f *flags) checkPartitioned() error {
	local := f.chains > 0 && !f.master.run && f.id == "" && f.server == "" && f.master.addr == ""
	switch {
	case f.chains < 0 || f.set["chains"] && f.chains == 0:
		return errors.New("-chains must be at least 1")
	case f.chains > wire.Slots:
		return fmt.Errorf("-chains must be at most %d (the slots keys hash into)", wire.Slots)
	case f.replicas < 1:
		return errors.New("-replicas must be at least 1")
	case f.servers < 1:
		return errors.New("-servers must be at least 1")
	case f.server != "" && f.master.run:
		return errors.New("-server runs a server: -master takes the masters' addresses (-master ADDR[,ADDR...]), not alone")
	case f.server != "" && f.id != "":
		return errors.New("-server and -id are exclusive: a server hosts replicas of many chains, a node is one member of one chain")
	case f.server != "" && strings.Contains(f.server, "/"):
		return errors.New("-server: the id must not contain /")
	case f.server != "":
		for _, name := range slices.Sorted(maps.Keys(f.set)) {
			if name != "server" && !slices.Contains(serverFlags, name) {
				return fmt.Errorf("-server takes no -%s (only -listen, -master ADDR, -data, -nosync, -log-level, -metrics, -tls-* and -insecure)", name)
			}
		}
		if f.listen == "" || f.master.addr == "" {
			return errors.New("-server needs -listen and -master ADDR")
		}
	case f.chains > 0 && f.members != "":
		return errors.New("-chains and -members are exclusive: a partitioned cluster places its chains on servers")
	case f.chains > 0 && f.id != "":
		return errors.New("-chains is for the master (-master alone) or a local cluster, not a node (-id)")
	case f.chains > 0 && f.master.addr != "":
		return errors.New("-chains is for the master (-master alone) or a local cluster; a server follows the masters with -server ID -master ADDR")
	case f.chains > 0 && f.master.run && f.join:
		return errors.New("-master -join takes no -chains: it gets the group's state once added")
	case f.chains > 0 && f.set["epoch"]:
		return errors.New("-epoch is for one chain: a partitioned cluster's chains start at epoch 1")
	case f.chains > 0 && f.set["nodes"]:
		return errors.New("-nodes is for a local chain: a local partitioned cluster takes -servers")
	case f.chains > 0 && f.master.run && (f.set["servers"] || f.set["port"]):
		return errors.New("-servers and -port are for a local cluster: start each server with chaind -server")
	case f.chains == 0 && (f.set["replicas"] || f.set["servers"]):
		return errors.New("-replicas and -servers need -chains (a partitioned cluster)")
	case local && f.set["replicas"] && f.replicas > f.servers:
		return fmt.Errorf("-replicas %d needs at least %d -servers", f.replicas, f.replicas)
	case local && (f.port < 1 || f.port+f.servers > 65536):
		return errors.New("-servers and -port must give ports within 1-65535")
	}
	return nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
