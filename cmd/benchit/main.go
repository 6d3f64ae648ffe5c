// Command benchit is a load generator for a chain.
//
// It runs -w workers, each with its own chain.Client over its own TCP
// transport (its own connections), each keeping -c requests in flight. An
// operation is a raw append of a -size-byte payload or, with probability
// -query, a kv.get of a key written before the run. The run lasts -d, or
// -n operations in all when -n is given. Every operation's latency goes
// into an HDR histogram; the summary gives throughput, errors and
// percentiles, as text or, with -json, as one JSON object on stdout.
//
// Against a running chain (say, chaind):
//
//	benchit -members n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003
//
// The members may also come from $CHAIN_MEMBERS. With neither, benchit
// starts its own 3-node chain in this process over loopback TCP, in memory,
// or on Pebble with -data (fsync on every write unless -nosync):
//
//	benchit -w 2 -c 50 -size 100 -d 5s -json
//	benchit -data /tmp -n 100000
//
// With -chains N it starts a local partitioned cluster instead: a master
// of N chains of 3 replicas and -servers servers (default 3), each server
// with its own TCP transport, in memory or on Pebble with -data; every
// operation is then a kv.put of a random key (of 100000) or, with
// probability -query, a kv.get of one, routed to the key's chain.
//
// With -master it asks the masters what they manage: a partitioned cluster
// is loaded as -chains loads a local one; one chain is loaded as -members
// loads it, its clients following the chain's configuration through the
// masters (mode chain-remote-master):
//
//	benchit -chains 4 -w 4 -c 64 -d 5s
//	benchit -master 127.0.0.1:7000 -d 10s
//
// A remote chain or cluster that runs mutual TLS takes -tls-cert, -tls-key
// and -tls-ca, a client (or admin) certificate of its CA (chainctl certs).
//
// A run interrupted with SIGINT or SIGTERM stops issuing operations and
// prints the summary of what completed. The exit status is 0 when every
// operation succeeded, 1 when some failed (the summary is printed all the
// same, with the first error), and 2 when the run could not be made.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/benchload"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/wire"
)

func main() { benchload.Main("benchit", run) }

// maxInflightPerClient is the most requests a chain.Client accepts in
// flight (chain.WithMaxInflight's upper bound).
const maxInflightPerClient = 4 * chain.DefaultMaxInflight

// flags are benchit's command line.
type flags struct {
	members   string // empty: run a local chain
	masters   string // a partitioned cluster's masters, comma-separated
	chains    int    // > 0: run a local partitioned cluster of this many chains
	servers   int    // local partitioned cluster: servers
	nodes     int    // local chain size
	data      string // local chain on Pebble under a new directory here
	noSync    bool
	query     float64
	nodeStats bool
	tls       flagvalue.TLSFiles // a remote chain or cluster over mutual TLS
	benchload.Flags
}

// parseFlags parses and validates args; env looks up environment
// variables ($CHAIN_MEMBERS). Usage and errors go to out.
func parseFlags(args []string, env func(string) string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("benchit", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.members, "members", "", "the chain to load, head first: id=host:port,... (default $CHAIN_MEMBERS; with neither, start a local 3-node chain)")
	fs.StringVar(&f.masters, "master", "", "load the chain or partitioned cluster these masters manage (comma-separated); a partitioned cluster with kv.put and kv.get of random keys")
	fs.IntVar(&f.chains, "chains", 0, "start a local partitioned cluster of this many chains (of 3 replicas) and load it with kv.put and kv.get of random keys")
	fs.IntVar(&f.servers, "servers", 3, "local partitioned cluster: number of servers")
	fs.IntVar(&f.nodes, "nodes", 3, "local chain: number of nodes")
	fs.StringVar(&f.data, "data", "", "local chain: keep the logs on Pebble in a new directory under this one, removed at exit (default: in memory)")
	fs.BoolVar(&f.noSync, "nosync", false, "local chain on Pebble: do not fsync writes")
	fs.Float64Var(&f.query, "query", 0, "fraction of operations that are queries (kv.get of one key), 0 to 1")
	f.Flags.Register(fs)
	fs.Lookup("w").Usage = "workers, each with its own client and connections"
	fs.Lookup("c").Usage = fmt.Sprintf("requests in flight per worker (1-%d)", maxInflightPerClient)
	fs.Lookup("size").Usage = "payload bytes of each append (and of the value queries read)"
	fs.Lookup("cpuprofile").Usage = "write a CPU profile of the run (local chain included) to this file"
	fs.StringVar(&f.tls.Cert, "tls-cert", "", "remote chain or cluster: PEM client certificate for mutual TLS")
	fs.StringVar(&f.tls.Key, "tls-key", "", "remote chain or cluster: PEM client private key")
	fs.StringVar(&f.tls.CA, "tls-ca", "", "remote chain or cluster: PEM CA certificate of the nodes and masters")
	fs.BoolVar(&f.nodeStats, "nodestats", false, "local chain: print each node's counters (requests refused as busy, ...) to stderr after the run")
	if err := f.Flags.Parse(fs, args, maxInflightPerClient, chain.DefaultMaxEntrySize-1024); err != nil {
		return f, err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.members == "" {
		f.members = env("CHAIN_MEMBERS")
	}
	switch {
	case !(f.query >= 0 && f.query <= 1): // also refuses NaN
		return f, fmt.Errorf("-query must be within 0-1, not %v", f.query)
	case f.members != "" && (f.data != "" || f.noSync || set["nodes"] || f.nodeStats):
		return f, errors.New("-data, -nosync, -nodes and -nodestats concern a local chain; they cannot go with -members or $CHAIN_MEMBERS")
	case f.noSync && f.data == "":
		return f, errors.New("-nosync needs -data")
	case f.masters != "" && (f.members != "" || f.chains > 0 || f.data != "" || f.noSync || set["nodes"] || set["servers"] || f.nodeStats):
		return f, errors.New("-master loads the running chain or partitioned cluster of those masters: it goes with no -members, -chains, -servers, -nodes, -data, -nosync or -nodestats")
	case f.chains < 0 || f.chains > wire.Slots:
		return f, fmt.Errorf("-chains must be within 0-%d, not %d", wire.Slots, f.chains)
	case f.chains > 0 && (f.members != "" || set["nodes"] || f.nodeStats):
		return f, errors.New("-chains starts a local partitioned cluster: it goes with no -members, -nodes or -nodestats")
	case f.tls.Enabled() && f.members == "" && f.masters == "":
		return f, errors.New("-tls-cert, -tls-key and -tls-ca are for a remote chain or cluster (-members or -master): a local one runs without TLS")
	case f.servers < 1 || f.servers > 64:
		return f, fmt.Errorf("-servers must be within 1-64, not %d", f.servers)
	case f.nodes < 1 || f.nodes > 16:
		return f, fmt.Errorf("-nodes must be within 1-16, not %d", f.nodes)
	}
	return f, nil
}
