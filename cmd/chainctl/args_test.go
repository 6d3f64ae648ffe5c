package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

func TestParseCommandLine(t *testing.T) {
	const m = "127.0.0.1:7000"
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		args    []string
		words   []string
		json    bool
		timeout time.Duration
		chain   string
		err     string // a part of the error; "" for none
	}{
		{name: "flags first", args: []string{"-master", m, "--json", "status"}, words: []string{"status"}, json: true},
		{name: "flag after the command", args: []string{"-master", m, "status", "--json"}, words: []string{"status"}, json: true},
		{name: "flags between words", args: []string{"read", "-master", m, "1", "-timeout", "2s", "5"},
			words: []string{"read", "1", "5"}, timeout: 2 * time.Second},
		{name: "-- ends the flags", args: []string{"-master", m, "append", "--", "-json"}, words: []string{"append", "-json"}},
		{name: "- is a word", args: []string{"-master", m, "append", "-"}, words: []string{"append", "-"}},
		{name: "-chain after", args: []string{"-master", m, "latest", "-chain", "c3"}, words: []string{"latest"}, chain: "c3"},
		{name: "no command", args: []string{"-master", m}},
		{name: "help", args: []string{"-master", m, "status", "-h"}, err: flag.ErrHelp.Error()},
		{name: "unknown flag", args: []string{"-bogus"}, err: "flag provided but not defined: -bogus (chainctl -h lists the flags)"},
		{name: "timeout 0", args: []string{"-master", m, "-timeout", "0", "latest"}, err: "-timeout 0s: must be above 0"},
		{name: "negative timeout", args: []string{"-master", m, "-timeout", "-1s", "latest"}, err: "-timeout -1s: must be above 0"},
		{name: "master without port", args: []string{"-master", "foo", "status"}, err: `-master: address "foo": missing port in address (want host:port)`},
		{name: "master IP without port", args: []string{"-master", "127.0.0.1", "status"}, err: `-master: address "127.0.0.1": missing port in address`},
		{name: "port out of range", args: []string{"-master", "127.0.0.1:99999", "status"}, err: `-master: address "127.0.0.1:99999": port "99999" is not a number in 1-65535`},
		{name: "port 0", args: []string{"-master", "127.0.0.1:0", "status"}, err: `port "0" is not a number in 1-65535`},
		{name: "no host", args: []string{"-master", ":7000", "status"}, err: `address ":7000": no host`},
		{name: "one bad master of a group", args: []string{"-master", m + ",h", "status"}, err: `address "h": missing port`},
		{name: "only commas", args: []string{"-master", ",", "status"}, err: `-master ",": no address`},
		{name: "bad member address", args: []string{"-members", "n1=127.0.0.1:1,n2=nowhere", "latest"}, err: `-members: n2: address "nowhere": missing port`},
		{name: "member list", args: []string{"-members", "n1=127.0.0.1:1,n2=127.0.0.1:2", "latest"}, words: []string{"latest"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, words, err := parseCommandLine(tc.args, getenv)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "\n")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.words, words)
			require.Equal(t, tc.json, o.cmd.json)
			require.Equal(t, tc.chain, o.cmd.chain)
			want := tc.timeout
			if want == 0 {
				want = 5 * time.Second
			}
			require.Equal(t, want, o.cmd.timeout)
		})
	}

	env["CHAIN_MASTER"] = "127.0.0.1"
	_, _, err := parseCommandLine([]string{"status"}, getenv)
	require.ErrorContains(t, err, `-master: address "127.0.0.1": missing port`, "an address from the environment is checked too")
}

func TestParseLine(t *testing.T) {
	session := commandOptions{timeout: time.Second, chain: "c1"}
	tests := []struct {
		words []string
		want  commandOptions
		rest  []string
		err   string
	}{
		{[]string{"status", "--json"}, commandOptions{json: true, timeout: time.Second, chain: "c1"}, []string{"status"}, ""},
		{[]string{"-chain", "c2", "latest"}, commandOptions{timeout: time.Second, chain: "c2"}, []string{"latest"}, ""},
		{[]string{"read", "1", "-timeout", "3s"}, commandOptions{timeout: 3 * time.Second, chain: "c1"}, []string{"read", "1"}, ""},
		{[]string{"status", "-h"}, session, []string{"help"}, ""},
		{[]string{"status", "-master", "x:1"}, session, nil, "flag provided but not defined: -master (a command takes -json, -timeout and -chain)"},
		{[]string{"latest", "-timeout", "-2s"}, session, nil, "-timeout -2s: must be above 0"},
	}
	for _, tc := range tests {
		o, rest, err := parseLine(tc.words, session)
		if tc.err != "" {
			require.EqualError(t, err, tc.err, "%q", tc.words)
			continue
		}
		require.NoError(t, err, "%q", tc.words)
		require.Equal(t, tc.want, o, "%q", tc.words)
		require.Equal(t, tc.rest, rest, "%q", tc.words)
	}
}

func TestPayloadSources(t *testing.T) {
	files := map[string][]byte{"v.bin": {0, 1, 2}, "big": bytes.Repeat([]byte("x"), 11)}
	readFile := func(path string) ([]byte, error) {
		if b, ok := files[path]; ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	withStdin := payloadReader{stdin: strings.NewReader("from stdin"), readFile: readFile}
	script := payloadReader{readFile: readFile} // stdin carries the commands
	tests := []struct {
		name string
		p    payloadReader
		arg  string
		want []byte
		err  string
	}{
		{"word", script, "hello", []byte("hello"), ""},
		{"empty word", script, "", []byte{}, ""},
		{"file", script, "@v.bin", []byte{0, 1, 2}, ""},
		{"missing file", script, "@nope", nil, "read payload: open nope: file does not exist"},
		{"@ alone", script, "@", nil, `"@" names no file (@PATH)`},
		{"file over the limit", script, "@big", nil, "chain: too large: big of 11 bytes, over 10"},
		{"hex", script, "hex:00ff41", []byte{0, 0xff, 'A'}, ""},
		{"hex of a word starting with @", script, "hex:4068", []byte("@h"), ""},
		{"bad hex", script, "hex:zz", nil, "hex payload: encoding/hex: invalid byte"},
		{"stdin", withStdin, "-", []byte("from stdin"), ""},
		{"stdin in a script", script, "-", nil, errNoStdin.Error()},
		{"word over the limit", script, "01234567890", nil, "chain: too large: argument of 11 bytes, over 10"},
	}
	for _, tc := range tests {
		got, err := tc.p.read(tc.arg, 10)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	_, err := script.read("@big", 10)
	require.ErrorIs(t, err, chain.ErrTooLarge)
}

// TestLongLines: a script's line up to maxLine is read whole (a
// bufio.Scanner stopped at 64 KiB with "token too long"); a longer one is
// an error for that line alone, and the next line is read.
func TestLongLines(t *testing.T) {
	long := "append " + strings.Repeat("v", maxLine-len("append "))
	tooLong := strings.Repeat("w", maxLine+1)
	lines := plainLines{bufio.NewReaderSize(strings.NewReader(long+"\n"+tooLong+"\r\nlatest\r\nlast"), 4096)}
	got, err := lines.next()
	require.NoError(t, err)
	require.Equal(t, long, got)
	_, err = lines.next()
	require.ErrorIs(t, err, errLineTooLong)
	got, err = lines.next()
	require.NoError(t, err)
	require.Equal(t, "latest", got)
	got, err = lines.next()
	require.NoError(t, err)
	require.Equal(t, "last", got, "a last line without a newline")
	_, err = lines.next()
	require.ErrorIs(t, err, io.EOF)

	failing := plainLines{bufio.NewReader(io.MultiReader(strings.NewReader("a\nb"), errReader{}))}
	got, err = failing.next()
	require.NoError(t, err)
	require.Equal(t, "a", got)
	_, err = failing.next()
	require.ErrorIs(t, err, errBroken)
}

var errBroken = errors.New("broken pipe")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestChainProblems(t *testing.T) {
	ok := func(id string) nodeStatus { return nodeStatus{ID: id, Serving: true} }
	bad := func(id, why string) nodeStatus { return nodeStatus{ID: id, Problem: why} }
	busy := nodeStatus{ID: "n3", Serving: true, Problem: "busy: new tail catching up with the old one"}
	leader := masterState{Addr: "m1", State: "leader"}
	follower := masterState{Addr: "m2", State: "follower"}
	down := masterState{Addr: "m3", State: "unreachable"}
	tests := []struct {
		name    string
		rows    []nodeStatus
		members int
		masters []masterState
		want    []string
	}{
		{"healthy, static", []nodeStatus{ok("n1"), ok("n2")}, 2, nil, nil},
		{"healthy, a group", []nodeStatus{ok("n1")}, 1, []masterState{leader, follower, down}, nil},
		{"a busy new tail serves", []nodeStatus{ok("n1"), busy}, 2, nil, nil},
		{"a member down", []nodeStatus{ok("n1"), bad("n2", "unreachable: connection refused")}, 2, nil,
			[]string{"n2 unreachable: connection refused"}},
		{"a joining node down does not stop the chain", []nodeStatus{ok("n1"), bad("n4", "unreachable: connection refused")}, 1, nil, nil},
		{"every node fenced, no leader", []nodeStatus{bad("n1", "fenced: no contact with the master"), bad("n2", "fenced: no contact with the master")},
			2, []masterState{follower, down, down},
			[]string{"no master leads (1 of 3 reachable)", "n1 fenced: no contact with the master", "n2 fenced: no contact with the master"}},
		{"no members", nil, 0, []masterState{leader}, []string{"the chain has no members"}},
		{"no leader knows the members", nil, 0, []masterState{follower, down, down}, []string{"no master leads (1 of 3 reachable)"}},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, chainProblems(tc.rows, tc.members, tc.masters), tc.name)
	}
	require.EqualError(t, errCannotServe{"a", "b"}, "the chain cannot serve: a; b")
}

func TestClusterProblems(t *testing.T) {
	leader := masterState{Addr: "m1", State: "leader"}
	follower := masterState{Addr: "m2", State: "follower"}
	down := masterState{Addr: "m3", State: "unreachable"}
	chainOf := func(id string, members ...string) chainView {
		v := chainView{ID: id}
		for _, m := range members {
			v.Members = append(v.Members, memberView{ID: m})
		}
		return v
	}
	tests := []struct {
		name string
		st   clusterStatus
		want []string
	}{
		{"healthy", clusterStatus{Masters: []masterState{leader, follower},
			Servers: []serverView{{ID: "s1", Alive: true, Replicas: 2}, {ID: "s2", Alive: false, Replicas: 0}},
			Chains:  []chainView{chainOf("c0", "s1/c0")}}, nil},
		{"no leader", clusterStatus{Masters: []masterState{follower, down, down}, Servers: []serverView{{ID: "s1", Replicas: 1}}},
			[]string{"no master leads (1 of 3 reachable)"}},
		{"a server down with replicas", clusterStatus{Masters: []masterState{leader},
			Servers: []serverView{{ID: "s1", Addr: "h:1", Replicas: 3}}},
			[]string{"server s1 (h:1) stopped reporting, with 3 replicas"}},
		{"a chain without members", clusterStatus{Masters: []masterState{leader}, Chains: []chainView{chainOf("c1")}},
			[]string{"chain c1 has no members"}},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, clusterProblems(tc.st), tc.name)
	}
}

// TestUnknownLayout: a follower that knows no leader and no chains (a
// master group restarted without a leader yet) cannot tell one chain from
// a partitioned cluster; chainctl took it for an empty partitioned one.
func TestUnknownLayout(t *testing.T) {
	one := wire.Cluster{Chains: []wire.ChainInfo{{}}}
	tests := []struct {
		u    wire.ClusterUpdate
		want bool
	}{
		{wire.ClusterUpdate{Follower: true}, true},
		{wire.ClusterUpdate{Follower: true, Leader: "m1"}, false},
		{wire.ClusterUpdate{}, false}, // a leader with no chains yet: a partitioned cluster
		{wire.ClusterUpdate{Follower: true, Cluster: one}, false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, unknownLayout(&tc.u), "%+v", tc.u)
	}
}
