package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/flagvalue"
)

// options are chainctl's flags. members, master and the TLS files are
// given once, on the command line; json, timeout and chain may also be
// given to one command of the prompt.
type options struct {
	members string
	master  string
	tls     flagvalue.TLSFiles
	cmd     commandOptions
}

// commandOptions are the flags that apply to one command.
type commandOptions struct {
	json    bool
	timeout time.Duration
	chain   string
}

// defineCommandFlags defines -json, -timeout and -chain on fs, with o's
// values as defaults.
func defineCommandFlags(fs *flag.FlagSet, o *commandOptions) {
	fs.BoolVar(&o.json, "json", o.json, "print results as JSON")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "time limit of each command (above 0)")
	fs.StringVar(&o.chain, "chain", o.chain, "partitioned cluster: the chain that append, read, latest, do, query, add-node\n"+
		"and remove-node go to (put, get and delete go to the chain that serves the key)")
}

// newFlagSet returns chainctl's flag set, writing nothing (parseCommandLine
// reports errors and the usage).
func newFlagSet(o *options, getenv func(string) string) *flag.FlagSet {
	fs := flag.NewFlagSet("chainctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o.cmd.timeout = 5 * time.Second
	fs.StringVar(&o.members, "members", getenv("CHAIN_MEMBERS"), "the chain's members, head first: id=host:port,... (default $CHAIN_MEMBERS)")
	fs.StringVar(&o.master, "master", getenv("CHAIN_MASTER"), "the configuration master's address, or a group's addresses comma-separated,\n"+
		"to learn the members from (default $CHAIN_MASTER)")
	defineCommandFlags(fs, &o.cmd)
	fs.StringVar(&o.tls.Cert, "tls-cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&o.tls.Key, "tls-key", "", "PEM client private key")
	fs.StringVar(&o.tls.CA, "tls-ca", "", "PEM CA certificate of the nodes")
	return fs
}

// usage writes chainctl's full usage: the -h output.
func usage(out io.Writer) {
	var o options
	fs := newFlagSet(&o, func(string) string { return "" })
	fs.SetOutput(out)
	fmt.Fprintln(out, "usage: chainctl [flags] [command [args]]   (flags may also follow the command; -- ends them)")
	fmt.Fprintln(out, commandHelp)
	fmt.Fprintln(out, payloadHelp)
	fmt.Fprintln(out, "flags:")
	fs.PrintDefaults()
}

// parseCommandLine parses chainctl's arguments: flags before, between and
// after the command's words (a "--" makes every word after it an
// argument), with the environment's CHAIN_MEMBERS and CHAIN_MASTER as
// defaults. It returns flag.ErrHelp for -h, and otherwise checks the
// flags' values: the timeout is positive and every address is host:port.
func parseCommandLine(args []string, getenv func(string) string) (options, []string, error) {
	var o options
	fs := newFlagSet(&o, getenv)
	words, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, nil, err
		}
		return o, nil, fmt.Errorf("%w (chainctl -h lists the flags)", err)
	}
	if err := o.cmd.check(); err != nil {
		return o, nil, err
	}
	if err := checkAddrList("-master", o.master); err != nil {
		return o, nil, err
	}
	if o.members != "" {
		members, err := flagvalue.ParseMembers(o.members)
		if err != nil {
			return o, nil, err
		}
		for _, m := range members {
			if err := checkAddr(m.Addr); err != nil {
				return o, nil, fmt.Errorf("-members: %s: %w", m.ID, err)
			}
		}
	}
	return o, words, nil
}

// parseLine parses the flags of one prompt line (-json, -timeout, -chain,
// anywhere in the line), with the session's values as defaults.
func parseLine(words []string, defaults commandOptions) (commandOptions, []string, error) {
	o := defaults
	fs := flag.NewFlagSet("chainctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defineCommandFlags(fs, &o)
	words, err := parseInterleaved(fs, words)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return o, []string{"help"}, nil
	case err != nil:
		return o, nil, fmt.Errorf("%w (a command takes -json, -timeout and -chain)", err)
	}
	return o, words, o.check()
}

func (o commandOptions) check() error {
	if o.timeout <= 0 {
		return fmt.Errorf("-timeout %v: must be above 0", o.timeout)
	}
	return nil
}

// parseInterleaved parses the flags of fs wherever they appear in args and
// returns the other words, in order. "--" ends the flags; "-" alone is a
// word.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return words, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(words, rest...), nil
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
}

// checkAddrList checks each address of a comma-separated list.
func checkAddrList(flagName, list string) error {
	if list == "" {
		return nil
	}
	addrs := flagvalue.SplitAddrs(list)
	if len(addrs) == 0 {
		return fmt.Errorf("%s %q: no address", flagName, list)
	}
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return fmt.Errorf("%s: %w", flagName, err)
		}
	}
	return nil
}

// checkAddr checks that addr is host:port with a port in 1-65535.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return fmt.Errorf("address %q: %s (want host:port)", addr, ae.Err)
		}
		return fmt.Errorf("address %q: want host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q: no host (want host:port)", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q: port %q is not a number in 1-65535", addr, port)
	}
	return nil
}

// maxLine bounds one line of the prompt or of a script: room for an
// entry of the default maximum size and the words of its command.
const maxLine = chain.DefaultMaxEntrySize + 4096

// payloadHelp is how the commands that take DATA read it.
const payloadHelp = `DATA (and put's VALUE) is the word itself, or:
  @PATH   the contents of the file PATH
  -       standard input (only when the command is on the command line)
  hex:HEX the bytes HEX encodes (so a word starting with @ or hex:, or
          "-", is given as hex:)`

// errNoStdin is returned for a "-" payload when stdin carries the
// commands.
var errNoStdin = errors.New(`"-" reads the payload from stdin, which carries the commands here: use @PATH or hex:`)

// payloadReader resolves a command's DATA argument (see payloadHelp). Its
// stdin is nil when standard input carries the commands.
type payloadReader struct {
	stdin    io.Reader
	readFile func(string) ([]byte, error)
}

// read returns the bytes arg stands for, failing for more than limit
// bytes.
func (p payloadReader) read(arg string, limit int) ([]byte, error) {
	switch {
	case arg == "-":
		if p.stdin == nil {
			return nil, errNoStdin
		}
		b, err := io.ReadAll(io.LimitReader(p.stdin, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return checkSize("stdin", b, limit)
	case strings.HasPrefix(arg, "@"):
		readFile := p.readFile
		if readFile == nil {
			readFile = os.ReadFile
		}
		path := arg[1:]
		if path == "" {
			return nil, errors.New(`"@" names no file (@PATH)`)
		}
		b, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("read payload: %w", err)
		}
		return checkSize(path, b, limit)
	case strings.HasPrefix(arg, "hex:"):
		b, err := hex.DecodeString(arg[len("hex:"):])
		if err != nil {
			return nil, fmt.Errorf("hex payload: %w", err)
		}
		return checkSize("hex payload", b, limit)
	}
	return checkSize("argument", []byte(arg), limit)
}

func checkSize(what string, b []byte, limit int) ([]byte, error) {
	if len(b) > limit {
		return nil, fmt.Errorf("%w: %s of %d bytes, over %d", chain.ErrTooLarge, what, len(b), limit)
	}
	return b, nil
}

// literal reports whether arg is the payload itself (not @PATH, - or
// hex:).
func literal(arg string) bool {
	return arg != "-" && !strings.HasPrefix(arg, "@") && !strings.HasPrefix(arg, "hex:")
}
