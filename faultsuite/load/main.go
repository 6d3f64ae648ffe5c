// Command load is the fault suite's client (see package faultsuite): run
// in a container on the cluster's network, it drives a key-value and a
// raw-append workload through the masters until the file heal appears in
// its output directory (or -max passes), then measures how soon a write
// succeeds, reads every key and the whole log, checks both histories with
// porcupine and writes report.json there. Meanwhile it writes view.json,
// the chain's members and the leading master, for the schedule to aim at.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chainrep/chain/internal/cli"
	"github.com/chainrep/chain/internal/flagvalue"
)

func main() {
	cli.Main("load", func(ctx context.Context) error { return run(ctx, os.Args[1:]) }, nil)
}

// options are load's flags.
type options struct {
	masters    []string
	tls        flagvalue.TLSFiles
	out        string
	seed       uint64
	kvClients  int
	logClients int
	keys       int
	max        time.Duration // the most the workload runs before healing
	serveBound time.Duration // the most the cluster may take to serve again
	opTimeout  time.Duration
}

func parse(args []string) (options, error) {
	var o options
	var masters string
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&masters, "master", "", "the masters' addresses, comma-separated")
	fs.StringVar(&o.tls.Cert, "tls-cert", "", "PEM client certificate")
	fs.StringVar(&o.tls.Key, "tls-key", "", "PEM client key")
	fs.StringVar(&o.tls.CA, "tls-ca", "", "PEM CA certificate")
	fs.StringVar(&o.out, "out", "/out", "output directory: heal is read there, view.json and report.json written")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the clients' choices")
	fs.IntVar(&o.kvClients, "kv", 3, "key-value clients")
	fs.IntVar(&o.logClients, "log", 2, "raw-append clients")
	fs.IntVar(&o.keys, "keys", 5, "keys of the key-value workload")
	fs.DurationVar(&o.max, "max", 3*time.Minute, "the longest the workload runs without heal")
	fs.DurationVar(&o.serveBound, "serve-bound", time.Minute, "the longest the cluster may take to take a write after heal")
	fs.DurationVar(&o.opTimeout, "op-timeout", 3*time.Second, "timeout of each operation (one that times out is recorded as unknown)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.masters = flagvalue.SplitAddrs(masters)
	if len(o.masters) == 0 || o.kvClients < 0 || o.logClients < 0 || o.keys < 1 {
		return o, fmt.Errorf("load needs -master, and non-negative -kv, -log and a positive -keys")
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	tlsConfig, err := o.tls.Config()
	if err != nil {
		return err
	}
	r, err := newRun(o, tlsConfig)
	if err != nil {
		return err
	}
	defer r.close()
	rep := r.execute(ctx)
	return writeJSON(filepath.Join(o.out, "report.json"), rep)
}

// writeJSON writes v to path whole: to a temporary file renamed over it,
// so a reader never sees half of it.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
