// Command chainctl talks to a chain, or to the chains of a partitioned
// cluster: it appends, reads, queries, runs key-value commands, shows
// every node's status, and adds and removes nodes through the
// configuration master.
//
// It learns the chain's members from the master (-master, or the
// CHAIN_MASTER environment variable; for a group of masters, their
// addresses comma-separated), or from a static list (-members, or
// CHAIN_MEMBERS):
//
//	chainctl -master 127.0.0.1:7000 append hello
//	chainctl -master 127.0.0.1:7000 status          # the master's view, then every node's
//	chainctl -master 127.0.0.1:7000,127.0.0.1:7010,127.0.0.1:7020 status   # every master, leader marked
//	chainctl -master 127.0.0.1:7000 add-node n4 127.0.0.1:7004
//	chainctl -master 127.0.0.1:7000 remove-node n2
//	chainctl -members n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 append hello
//	chainctl -members ... read 1 10
//	chainctl -members ... --json status
//	chainctl -master ...               # an interactive prompt
//
// Against the master of a partitioned cluster (chaind -master -chains N;
// chainctl asks the masters which kind they run), put, get and delete go
// to the chain that serves the key; append, read, latest, do, query,
// add-node and remove-node go to the chain named with -chain; status
// shows the masters, the servers and every chain (its slots, epoch and
// members, head first):
//
//	chainctl -master 127.0.0.1:7000 put k v
//	chainctl -master 127.0.0.1:7000 status
//	chainctl -master 127.0.0.1:7000 -chain c3 read 1 10
//	chainctl -master 127.0.0.1:7000 -chain c3 remove-node s2/c3
//
// With -master, the client follows the chain through failures and
// membership changes (and, given every master of a group, through the
// loss of the group's leader); add-node and remove-node need it, and are
// sent on to the group's leader when they reach another master. An error is
// printed as one line and the exit status is non-zero.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/cli"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/tcp"
)

func main() {
	cli.Main("chainctl", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	}, nil)
}

// options are chainctl's global flags.
type options struct {
	members string
	master  string
	json    bool
	timeout time.Duration
	tls     flagvalue.TLSFiles
	chain   string
}

func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("chainctl", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.members, "members", os.Getenv("CHAIN_MEMBERS"), "the chain's members, head first: id=host:port,... (default $CHAIN_MEMBERS)")
	fs.StringVar(&o.master, "master", os.Getenv("CHAIN_MASTER"), "the configuration master's address, or a group's addresses comma-separated,\n"+
		"to learn the members from (default $CHAIN_MASTER)")
	fs.StringVar(&o.chain, "chain", "", "partitioned cluster: the chain that append, read, latest, do, query, add-node\n"+
		"and remove-node go to (put, get and delete go to the chain that serves the key)")
	fs.BoolVar(&o.json, "json", false, "print results as JSON")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "time limit of each command")
	fs.StringVar(&o.tls.Cert, "tls-cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&o.tls.Key, "tls-key", "", "PEM client private key")
	fs.StringVar(&o.tls.CA, "tls-ca", "", "PEM CA certificate of the nodes")
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: chainctl [flags] [command [args]]")
		fmt.Fprintln(out, commandHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg chain.Config
	if o.members != "" || o.master == "" {
		members, err := flagvalue.ParseMembers(o.members)
		if err != nil {
			return fmt.Errorf("%w (use -master or CHAIN_MASTER, or -members or CHAIN_MEMBERS)", err)
		}
		cfg = chain.Config{Epoch: 1, Members: members}
	}
	tlsConfig, err := o.tls.Config()
	if err != nil {
		return err
	}
	tr := tcp.New(tcp.Options{TLS: tlsConfig})
	defer tr.Close()
	opts := []chain.ClientOption{chain.WithTransport(tr)}
	masters := flagvalue.SplitAddrs(o.master)
	if o.master != "" && len(masters) == 0 {
		return errors.New("-master: no address")
	}
	if len(masters) > 0 {
		opts = append(opts, chain.WithMaster(masters...))
	}
	if len(cfg.Members) > 0 {
		opts = append(opts, chain.WithConfig(cfg))
	}
	s := &console{cfg: cfg, masters: masters, tr: tr, out: out, json: o.json, timeout: o.timeout, chainID: o.chain}
	if len(cfg.Members) == 0 {
		// Ask the masters whether they run one chain or a partitioned
		// cluster.
		dctx, cancel := context.WithTimeout(ctx, o.timeout)
		u, _, err := masterclient.FetchCluster(dctx, tr, masters...)
		cancel()
		switch {
		case err != nil && fs.NArg() > 0:
			return err
		case err == nil && masterclient.IsPartitioned(u.Cluster):
			part, err := partition.NewClient(partition.Options{Transport: tr, Masters: masters})
			if err != nil {
				return err
			}
			defer part.Close()
			s.part = part
			for _, ch := range u.Cluster.Chains {
				s.chains = append(s.chains, ch.ID)
			}
		}
	}
	if s.part == nil {
		if o.chain != "" {
			return errors.New("-chain names a chain of a partitioned cluster (a master started with -chains): this is one chain")
		}
		client, err := chain.NewClient(opts...)
		if err != nil {
			return err
		}
		defer client.Close()
		s.client = client
	}
	if fs.NArg() == 0 {
		return s.interactive(ctx, in)
	}
	return s.execute(ctx, fs.Args())
}
