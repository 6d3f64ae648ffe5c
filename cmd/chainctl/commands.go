package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/wire"
)

const commandHelp = `commands:
  append DATA           append DATA as a raw entry; prints its offset (DATA: see below)
  read FROM [MAX]       print up to MAX (default 10) committed entries from offset FROM
  latest                print the commit point
  do NAME [DATA]        run the command NAME with DATA; prints its result
  query NAME [DATA]     run the query NAME at the tail; prints its result
                        (kv.put, kv.get, ... take kv's binary encoding: use
                        put, get and delete)
  put KEY VALUE         key-value store: set KEY
  get KEY               key-value store: print KEY's value
  delete KEY            key-value store: delete KEY
  status                every node's role, epoch, offsets, commit point and lag,
                        and why a node cannot serve (unreachable, fenced,
                        stopped); fails when the chain cannot serve (with
                        -master, each master and which one leads, and the
                        leader's configuration first; of a partitioned cluster,
                        the masters, the servers and every chain)
  add-node ID ADDR      ask the master to add the node ID listening at ADDR: it
                        joins behind the tail, catches up and becomes the tail;
                        prints the configuration it joined (waiting up to 2 s,
                        or twice the failure timeout, for it to reach the master)
  remove-node ID        ask the master to take the node ID out of the chain
  add-master ADDR RAFT  add the master at ADDR (raft address RAFT) to the group;
                        start it first with chaind -master -join; it votes once
                        it has caught up, or is removed again (and says why)
  remove-master ADDR    take the master at ADDR out of the group (refused for a
                        master not in it, or one the group's quorum needs)
  help                  this list
  certs ...             (first on the command line) make a CA and per-role
                        certificates for mutual TLS: chainctl certs -h
of a partitioned cluster (a master started with chaind -master -chains N):
  put, get and delete go to the chain that serves the key; append, read,
  latest, do, query, add-node and remove-node go to the chain named with
  -chain ID (chainctl status lists the chains)`

// console runs commands against one chain, or against the chains of a
// partitioned cluster (part).
type console struct {
	client  *chain.Client // nil for a partitioned cluster
	cfg     chain.Config  // the static configuration, without -master
	masters []string      // the masters' addresses, or none
	tr      chain.Transport
	out     io.Writer
	// identity is what chainctl's certificate names (nil without TLS).
	identity *auth.Identity
	// opts are the session's -json, -timeout and -chain.
	opts commandOptions
	// payload resolves DATA arguments.
	payload payloadReader
	// noLeader is set when no master leads and none could tell a chain
	// from a partitioned cluster.
	noLeader bool

	// part is the client of a partitioned cluster, nil for one chain;
	// chains are its chains' ids.
	part   *partition.Client
	chains []string
}

var errUsage = errors.New("usage")

// call is one command being run: the console and the command's options.
type call struct {
	*console
	json    bool
	chainID string
}

// execute runs one command line with the options o.
func (s *console) execute(ctx context.Context, o commandOptions, args []string) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	name, args := args[0], args[1:]
	cmd, ok := commands[name]
	if !ok {
		return fmt.Errorf("unknown command %q (try help)", name)
	}
	if err := kvRefusal(name, args); err != nil {
		return err
	}
	if len(args) < cmd.minArgs || len(args) > cmd.maxArgs {
		return fmt.Errorf("%w: %s", errUsage, cmd.usage)
	}
	c := &call{console: s, json: o.json, chainID: o.chain}
	who, addrs := s.contacts(name)
	return s.reaching(ctx, who, addrs, func(ctx context.Context) error { return cmd.run(ctx, c, args) })
}

type command struct {
	usage            string
	minArgs, maxArgs int
	run              func(ctx context.Context, s *call, args []string) error
}

var commands = map[string]command{
	"append": {"append DATA", 1, 1, onChain(func(s *call, a []string) ([]byte, error) {
		return s.payload.read(a[0], maxPayload)
	}, func(ctx context.Context, s *call, c *chain.Client, data []byte) error {
		off, err := c.Append(ctx, data)
		if err != nil {
			return err
		}
		return s.print(map[string]any{"offset": off}, fmt.Sprintf("appended at offset %d", off))
	})},
	"read": {"read FROM [MAX]", 1, 2, onChain(parseReadRange, func(ctx context.Context, s *call, c *chain.Client, r readRange) error {
		ents, err := c.Read(ctx, r.from, r.max)
		if err != nil {
			return err
		}
		return s.printEntries(ents)
	})},
	"latest": {"latest", 0, 0, onChain(noArgs, func(ctx context.Context, s *call, c *chain.Client, _ struct{}) error {
		off, err := c.Latest(ctx)
		if err != nil {
			return err
		}
		return s.print(map[string]any{"commit": off}, fmt.Sprintf("commit point %d", off))
	})},
	"do": {"do NAME [DATA]", 1, 2, onChain(parseHandlerCall, func(ctx context.Context, s *call, c *chain.Client, h handlerCall) error {
		res, err := c.Submit(ctx, h.name, h.data)
		if err != nil {
			return err
		}
		return s.print(map[string]any{"offset": res.Offset, "result": string(res.Data)},
			fmt.Sprintf("offset %d: %q", res.Offset, res.Data))
	})},
	"query": {"query NAME [DATA]", 1, 2, onChain(parseHandlerCall, func(ctx context.Context, s *call, c *chain.Client, h handlerCall) error {
		out, err := c.Query(ctx, h.name, h.data)
		if err != nil {
			return err
		}
		return s.print(map[string]any{"result": string(out)}, fmt.Sprintf("%q", out))
	})},
	"put": {"put KEY VALUE", 2, 2, func(ctx context.Context, s *call, a []string) error {
		value, err := s.payload.read(a[1], maxPayload)
		if err != nil {
			return err
		}
		if err := s.kv().Put(ctx, a[0], value); err != nil {
			return err
		}
		return s.print(map[string]any{"key": a[0], "ok": true}, "ok")
	}},
	"get": {"get KEY", 1, 1, func(ctx context.Context, s *call, a []string) error {
		v, found, err := s.kv().Get(ctx, a[0])
		if err != nil {
			return err
		}
		text := fmt.Sprintf("%q", v)
		if !found {
			text = "(not found)"
		}
		return s.print(map[string]any{"key": a[0], "value": string(v), "found": found}, text)
	}},
	"delete": {"delete KEY", 1, 1, func(ctx context.Context, s *call, a []string) error {
		existed, err := s.kv().Delete(ctx, a[0])
		if err != nil {
			return err
		}
		return s.print(map[string]any{"key": a[0], "existed": existed}, fmt.Sprintf("deleted (existed: %t)", existed))
	}},
	"status": {"status", 0, 0, func(ctx context.Context, s *call, a []string) error {
		return s.status(ctx)
	}},
	"add-node": {"add-node ID ADDR", 2, 2, func(ctx context.Context, s *call, a []string) error {
		return s.adminNode(ctx, &wire.AdminRequest{Op: wire.AdminAddNode, Member: chain.Member{ID: a[0], Addr: a[1]}})
	}},
	"remove-node": {"remove-node ID", 1, 1, func(ctx context.Context, s *call, a []string) error {
		return s.adminNode(ctx, &wire.AdminRequest{Op: wire.AdminRemoveNode, Member: chain.Member{ID: a[0]}})
	}},
	"add-master": {"add-master ADDR RAFTADDR", 2, 2, func(ctx context.Context, s *call, a []string) error {
		return s.admin(ctx, &wire.AdminRequest{Op: wire.AdminAddMaster, Member: chain.Member{ID: a[0], Addr: a[1]}})
	}},
	"remove-master": {"remove-master ADDR", 1, 1, func(ctx context.Context, s *call, a []string) error {
		return s.admin(ctx, &wire.AdminRequest{Op: wire.AdminRemoveMaster, Member: chain.Member{ID: a[0]}})
	}},
}

func init() {
	commands["help"] = command{"help", 0, 0, func(ctx context.Context, s *call, a []string) error {
		_, err := fmt.Fprintf(s.out, "%s\n%s\n", commandHelp, payloadHelp)
		return err
	}}
}

// maxPayload bounds the DATA chainctl reads; a node refuses an entry over
// its own limit (1 MiB unless configured) with an error saying so.
const maxPayload = 64 << 20

// kvCommands are the commands and queries of package kv, which take its
// binary encoding.
var kvCommands = map[string]string{
	kv.CmdPut: "put KEY VALUE", kv.CmdDelete: "delete KEY", kv.CmdCAS: "",
	kv.QueryGet: "get KEY", kv.QueryLen: "",
}

// kvRefusal refuses do or query (verb) of a kv command or query given
// words: they take kv's binary encoding, which put, get and delete write
// (or the encoded bytes given as hex: or @PATH).
func kvRefusal(verb string, args []string) error {
	if (verb != "do" && verb != "query") || len(args) < 2 {
		return nil
	}
	use, ok := kvCommands[args[0]]
	if !ok || (len(args) == 2 && !literal(args[1])) {
		return nil
	}
	if use != "" {
		use = "use chainctl " + use + ", or "
	}
	return fmt.Errorf("%s %s: the payload is kv's binary encoding, not words: %sgive the encoded bytes as hex:HEX or @PATH",
		verb, args[0], use)
}

// onChain makes the run function of a command of one chain's log: parse
// checks and decodes its arguments first, so that a usage or payload error
// comes before any contact with the cluster; then run gets them with the
// client of the chain the command goes to (see chainClient).
func onChain[A any](parse func(s *call, a []string) (A, error),
	run func(ctx context.Context, s *call, c *chain.Client, args A) error) func(context.Context, *call, []string) error {
	return func(ctx context.Context, s *call, a []string) error {
		args, err := parse(s, a)
		if err != nil {
			return err
		}
		c, err := s.chainClient(ctx)
		if err != nil {
			return err
		}
		return run(ctx, s, c, args)
	}
}

// noArgs is the parse function of a command that takes no arguments.
func noArgs(*call, []string) (struct{}, error) { return struct{}{}, nil }

// readRange is what read reads: up to max entries from offset from.
type readRange struct {
	from uint64
	max  int
}

// parseReadRange parses read's FROM [MAX] (MAX 10 by default).
func parseReadRange(_ *call, a []string) (readRange, error) {
	from, err := strconv.ParseUint(a[0], 10, 64)
	if err != nil || from == 0 {
		return readRange{}, fmt.Errorf("%w: FROM must be an offset >= 1", errUsage)
	}
	r := readRange{from: from, max: 10}
	if len(a) == 2 {
		if r.max, err = strconv.Atoi(a[1]); err != nil || r.max < 1 {
			return readRange{}, fmt.Errorf("%w: MAX must be >= 1", errUsage)
		}
	}
	return r, nil
}

// handlerCall is what do and query run: the handler name and its DATA.
type handlerCall struct {
	name string
	data []byte
}

// parseHandlerCall parses NAME [DATA] of do or query (no DATA: none).
func parseHandlerCall(s *call, a []string) (handlerCall, error) {
	h := handlerCall{name: a[0]}
	if len(a) < 2 {
		return h, nil
	}
	var err error
	h.data, err = s.payload.read(a[1], maxPayload)
	return h, err
}

// splitLine splits an interactive line into words; double quotes group
// words with spaces.
func splitLine(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote, inWord = !inQuote, true
		case (r == ' ' || r == '\t') && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
