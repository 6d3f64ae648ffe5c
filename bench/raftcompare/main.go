// Command raftcompare is the hashicorp/raft side of chain's benchmark: it
// runs a 3-node raft cluster in one process over raft's own TCP transport
// on loopback, loads it the way cmd/benchit loads a chain, and prints the
// same summary.
//
// Load: -w workers, each keeping -c operations in flight; an operation is
// raft.Apply of a -size-byte payload on the leader, waiting for its
// ApplyFuture (the entry committed by a majority and applied to the
// leader's FSM). The run lasts -d, or -n operations in all when -n is
// given. The log is in memory (-store mem, raft.InmemStore) or in BoltDB
// (-store bolt, raft-boltdb, fsync on every batch) under -data.
//
//	raftcompare -store mem -w 2 -c 50 -size 100 -d 10s -json
//	raftcompare -store bolt -data /tmp -d 10s
//
// Raft is configured for throughput as its authors advise: BatchApplyCh on,
// MaxAppendEntries 512 (-max-append-entries), a batching FSM, a LogCache in
// front of BoltDB, default timeouts and pipelining. Snapshots go to a
// discarding store. The exit status is 0 when every operation succeeded, 1
// when some failed (the summary is printed all the same), 2 when the run
// could not be made.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/chainrep/chain/internal/benchload"
)

func main() { benchload.Main("raftcompare", run) }

// flags are raftcompare's command line.
type flags struct {
	store            string // "mem" or "bolt"
	data             string
	nodes            int
	maxAppendEntries int
	clientHop        bool // clients reach the leader over TCP (see remote.go)
	benchload.Flags
}

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("raftcompare", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.store, "store", "mem", "log and stable store: mem (raft.InmemStore) or bolt (raft-boltdb, fsync)")
	fs.StringVar(&f.data, "data", "", "-store bolt: keep the databases in a new directory under this one, removed at exit (default: the system's temporary directory)")
	fs.IntVar(&f.nodes, "nodes", 3, "cluster size")
	f.Flags.Register(fs)
	fs.Lookup("size").Usage = "payload bytes of each entry"
	fs.Lookup("timeout").Usage = "timeout of each operation (raft.Apply's enqueue timeout, and the wait for its future)"
	fs.IntVar(&f.maxAppendEntries, "max-append-entries", 512, "raft Config.MaxAppendEntries (1-1024): the most entries per AppendEntries RPC and per leader batch")
	fs.BoolVar(&f.clientHop, "client-hop", false, "workers send their operations over loopback TCP to a server in the leader's process that applies them (as clients of a service built on raft would), instead of calling raft.Apply in it")
	if err := f.Flags.Parse(fs, args, 4096, 1<<20); err != nil {
		return f, err
	}
	switch {
	case f.store != "mem" && f.store != "bolt":
		return f, fmt.Errorf("-store must be mem or bolt, not %q", f.store)
	case f.store == "mem" && f.data != "":
		return f, errors.New("-data needs -store bolt")
	case f.nodes < 1 || f.nodes > 9:
		return f, fmt.Errorf("-nodes must be within 1-9, not %d", f.nodes)
	case f.maxAppendEntries < 1 || f.maxAppendEntries > 1024:
		return f, fmt.Errorf("-max-append-entries must be within 1-1024, not %d", f.maxAppendEntries)
	}
	return f, nil
}
