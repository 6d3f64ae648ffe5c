package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chzyer/readline"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/transport/tcp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startChain runs a 3-node chain over loopback TCP and returns its members
// flag.
func startChain(t *testing.T) string {
	t.Helper()
	members, err := launch.FreeLocalMembers(3)
	require.NoError(t, err)
	cfg := chain.Config{Epoch: 1, Members: members}
	tr := tcp.New(tcp.Options{})
	t.Cleanup(func() { _ = tr.Close() })
	lc, err := launch.StartChain(context.Background(), launch.ChainConfig{Config: cfg, Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { _ = lc.Close() })
	return flagvalue.FormatMembers(members)
}

func chainctl(t *testing.T, members string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, append([]string{"-members", members}, args...), stdio{in: strings.NewReader(stdin), out: &out, errOut: &out})
	return out.String(), err
}

func TestCommandsAgainstAChain(t *testing.T) {
	members := startChain(t)
	out, err := chainctl(t, members, "", "append", "hello")
	require.NoError(t, err)
	require.Equal(t, "appended at offset 1\n", out)
	_, err = chainctl(t, members, "", "append", "world")
	require.NoError(t, err)

	out, err = chainctl(t, members, "", "read", "1", "5")
	require.NoError(t, err)
	require.Equal(t, "1 \"hello\"\n2 \"world\"\n", out)

	out, err = chainctl(t, members, "", "--json", "read", "2")
	require.NoError(t, err)
	var ents []jsonEntry
	require.NoError(t, json.Unmarshal([]byte(out), &ents))
	require.Len(t, ents, 1)
	require.Equal(t, "world", ents[0].Data)

	out, err = chainctl(t, members, "", "latest")
	require.NoError(t, err)
	require.Equal(t, "commit point 2\n", out)

	_, err = chainctl(t, members, "", "put", "k", "v")
	require.NoError(t, err)
	out, err = chainctl(t, members, "", "get", "k")
	require.NoError(t, err)
	require.Equal(t, "\"v\"\n", out)
	out, err = chainctl(t, members, "", "query", "kv.len")
	require.NoError(t, err)
	require.NotEmpty(t, out)

	out, err = chainctl(t, members, "", "--json", "status")
	require.NoError(t, err)
	var rows []nodeStatus
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 3)
	require.Equal(t, []string{"head", "middle", "tail"}, []string{rows[0].Role, rows[1].Role, rows[2].Role})
	for _, r := range rows {
		require.Equal(t, uint64(1), r.Epoch)
		require.Empty(t, r.Err)
	}
	out, err = chainctl(t, members, "", "status")
	require.NoError(t, err)
	require.Contains(t, out, "ROLE")
}

// TestScriptFailsWhenACommandFails: commands read from a non-terminal
// stdin (a script, a here-document) all run, each failure is reported
// with its line number, and the script fails if any command failed.
func TestScriptFailsWhenACommandFails(t *testing.T) {
	members := startChain(t)
	out, err := chainctl(t, members, "append \"a b\"\nbogus\n\n# a comment\nread 1\nquit\nappend never\n")
	require.EqualError(t, err, "1 of 3 commands failed")
	require.Contains(t, out, "appended at offset 1")
	require.Contains(t, out, `chainctl: line 2: unknown command "bogus"`)
	require.Contains(t, out, `1 "a b"`)
	require.NotContains(t, out, "offset 2", "a command after quit ran")
	require.NotContains(t, out, "chain> ", "a script gets no prompt")

	out, err = chainctl(t, members, "latest --json\nread 1 -timeout 2s\n")
	require.NoError(t, err)
	require.Contains(t, out, `{"commit":1}`)

	_, err = chainctl(t, members, "latest -timeout 0\n")
	require.EqualError(t, err, "1 of 1 commands failed")
}

func TestErrorsAreOneLineAndFail(t *testing.T) {
	members := startChain(t)
	for _, args := range [][]string{
		{"read", "0"}, {"read"}, {"nope"}, {"query", "no-such-query"}, {"append", "a", "b"},
	} {
		_, err := chainctl(t, members, "", args...)
		require.Error(t, err, "%v", args)
		require.NotContains(t, err.Error(), "\n")
	}
	_, err := chainctl(t, "", "", "latest")
	require.ErrorContains(t, err, "CHAIN_MEMBERS")
	_, err = chainctl(t, "n1", "", "latest")
	require.Error(t, err)
}

func TestSplitLine(t *testing.T) {
	words, err := splitLine(`put key "a value"  x`)
	require.NoError(t, err)
	require.Equal(t, []string{"put", "key", "a value", "x"}, words)
	words, err = splitLine(`append ""`)
	require.NoError(t, err)
	require.Equal(t, []string{"append", ""}, words)
	_, err = splitLine(`put "open`)
	require.Error(t, err)
}

// TestPromptEditsLines drives the terminal prompt's line editor over a
// pipe: Left, Left, Backspace edit the line (they used to be stored as
// escape sequences), and Up recalls the previous line.
func TestPromptEditsLines(t *testing.T) {
	members := startChain(t)
	keys := "append abc\x1b[D\x1b[D\x7f\r" + // "append bc"
		"\x1b[A\r" + // the same line again
		"bogus\r" +
		"read 1\r"
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"-members", members}, stdio{
		in: strings.NewReader(""), out: &out, errOut: &out, terminal: true,
		editor: func(c *readline.Config) {
			c.Stdin = io.NopCloser(strings.NewReader(keys))
			c.HistoryFile = ""
			c.FuncIsTerminal = func() bool { return true }
			c.FuncMakeRaw = func() error { return nil }
			c.FuncExitRaw = func() error { return nil }
			c.FuncGetWidth = func() int { return 200 }
			c.FuncOnWidthChanged = func(func()) {}
		},
	})
	require.NoError(t, err, "a failed command does not end the prompt or fail it: %s", out.String())
	require.Contains(t, out.String(), `error: unknown command "bogus"`)
	require.Contains(t, out.String(), `1 "bc"`)
	require.Contains(t, out.String(), `2 "bc"`)
	require.NotContains(t, out.String(), `\x1b`)
}

// TestKVThroughDoAndQuery: the kv commands take kv's binary encoding;
// given words, do and query say to use put and get; given the encoding
// (uvarint length, key, uvarint length, value) as hex: they work.
func TestKVThroughDoAndQuery(t *testing.T) {
	members := startChain(t)
	for _, args := range [][]string{
		{"do", "kv.put", "k", "v"}, {"do", "kv.put", "k"}, {"query", "kv.get", "k"}, {"do", "kv.delete", "k"},
	} {
		_, err := chainctl(t, members, "", args...)
		require.ErrorContains(t, err, "the payload is kv's binary encoding, not words: use chainctl ", "%q", args)
	}
	_, err := chainctl(t, members, "", "do", "kv.put", "hex:016b0176") // "k" = "v"
	require.NoError(t, err)
	out, err := chainctl(t, members, "", "get", "k")
	require.NoError(t, err)
	require.Equal(t, "\"v\"\n", out)
	out, err = chainctl(t, members, "", "query", "kv.get", "hex:016b")
	require.NoError(t, err)
	require.Equal(t, "\"\\x01\\x01v\"\n", out, "found, then the value")

	// A value from a file, and from stdin.
	path := t.TempDir() + "/value"
	require.NoError(t, os.WriteFile(path, []byte("from a file"), 0o600))
	_, err = chainctl(t, members, "", "put", "f", "@"+path)
	require.NoError(t, err)
	out, err = chainctl(t, members, "", "get", "f")
	require.NoError(t, err)
	require.Equal(t, "\"from a file\"\n", out)
	_, err = chainctl(t, members, "from stdin", "append", "-")
	require.NoError(t, err)
	out, err = chainctl(t, members, "", "read", "3")
	require.NoError(t, err)
	require.Equal(t, "3 \"from stdin\"\n", out)
}

// TestStatusFailsWhenAMemberIsDown: a member that refuses connections is
// reported in its row, and status fails naming it.
func TestStatusFailsWhenAMemberIsDown(t *testing.T) {
	members := startChain(t)
	free, err := launch.FreeLocalMembers(1)
	require.NoError(t, err)
	out, err := chainctl(t, members+",n9="+free[0].Addr, "", "status")
	require.EqualError(t, err, "the chain cannot serve: n9 unreachable: connection refused (is chaind running there?)")
	require.Regexp(t, `(?m)^n9\s+`+free[0].Addr+`\s+unreachable\s.*connection refused`, out)
	require.Regexp(t, `(?m)^n1\s+\S+\s+head\s`, out)

	// A command that waits for the missing tail says which node refuses.
	_, err = chainctl(t, members+",n9="+free[0].Addr, "", "-timeout", "300ms", "latest")
	require.ErrorContains(t, err, "; cannot reach "+free[0].Addr+": connection refused (is chaind running there?)")
	require.NotContains(t, err.Error(), "\n")
}
