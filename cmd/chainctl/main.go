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
//
// Flags may come before or after the command (chainctl status --json);
// "--" ends them, for data that starts with "-". Addresses are checked
// before anything is sent, and a master or node that refuses connections
// is named as such. The DATA of append, do and query, and put's VALUE, is
// the word itself, @PATH (a file's contents), - (standard input) or
// hex:HEX. The kv.* commands and queries take kv's binary encoding: use
// put, get and delete for them.
//
// status exits non-zero when the chain cannot serve: a member is
// unreachable, fenced (no contact with the master) or stopped, or no
// master of a group leads; each such node's row says why.
//
// With no command, chainctl reads commands, one a line. On a terminal it
// is a prompt with line editing and history (kept in
// ~/.chainctl_history); otherwise (a script, a here-document) it reads the
// lines as they come, and exits non-zero if any command failed. A line
// may also carry -json, -timeout and -chain.
//
// chainctl certs makes a certificate authority and a certificate for
// each process of a deployment, naming its role and identity (see the
// README's Security section), for chaind's and chainctl's -tls-* flags:
//
//	chainctl certs init pki
//	chainctl certs issue pki master m1 10.0.0.9:7000 10.0.0.9:7100
//	chainctl certs issue pki node n1 10.0.0.1:7001
//	chainctl certs issue pki admin ops
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/chzyer/readline"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/cli"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/transport/tcp"
	"github.com/chainrep/chain/wire"
)

func main() {
	cli.Main("chainctl", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, errOut: os.Stderr, terminal: isTerminal(os.Stdin)})
	}, nil)
}

// stdio are chainctl's standard streams. terminal is set when in is a
// terminal: the prompt then edits lines and keeps their history.
type stdio struct {
	in       io.Reader
	out      io.Writer
	errOut   io.Writer
	terminal bool
	// editor, if not nil, adjusts the line editor's configuration.
	editor func(*readline.Config)
}

func run(ctx context.Context, args []string, std stdio) error {
	if len(args) > 0 && args[0] == "certs" { // local: talks to nothing
		return runCerts(args[1:], std.out)
	}
	o, words, err := parseCommandLine(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		usage(std.out)
		return err
	}
	if err != nil {
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
	if len(masters) > 0 {
		opts = append(opts, chain.WithMaster(masters...))
	}
	if len(cfg.Members) > 0 {
		opts = append(opts, chain.WithConfig(cfg))
	}
	s := &console{cfg: cfg, masters: masters, tr: tr, out: std.out, opts: o.cmd, identity: ownIdentity(tlsConfig)}
	if len(words) > 0 {
		s.payload.stdin = std.in
	}
	if len(cfg.Members) == 0 {
		// Ask the masters whether they run one chain or a partitioned
		// cluster.
		dctx, cancel := context.WithTimeout(ctx, o.cmd.timeout)
		var u *wire.ClusterUpdate
		err := s.reaching(dctx, "the master", masters, func(ctx context.Context) (err error) {
			u, _, err = masterclient.FetchCluster(ctx, tr, masters...)
			return err
		})
		cancel()
		switch {
		case err != nil && len(words) > 0:
			return err
		case err == nil && unknownLayout(u):
			s.noLeader = true
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
		if o.cmd.chain != "" && !s.noLeader {
			return errors.New("-chain names a chain of a partitioned cluster (a master started with -chains): this is one chain")
		}
		client, err := chain.NewClient(opts...)
		if err != nil {
			return err
		}
		defer client.Close()
		s.client = client
	}
	if len(words) == 0 {
		return s.interactive(ctx, std)
	}
	return s.execute(ctx, o.cmd, words)
}

// unknownLayout reports whether u comes from a master that can tell
// neither chain nor cluster: a follower that knows no leader and has no
// chains (a group restarted without a leader yet). Such an answer is not
// taken for an empty partitioned cluster.
func unknownLayout(u *wire.ClusterUpdate) bool {
	return u.Follower && u.Leader == "" && len(u.Cluster.Chains) == 0
}
