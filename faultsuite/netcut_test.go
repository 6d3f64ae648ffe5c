package faultsuite

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCutRules(t *testing.T) {
	drop := func(op, src, dst string) []string {
		return []string{"-w", op, "DOCKER-USER", "-s", src, "-d", dst, "-m", "comment", "--comment", "chainfs-7", "-j", "DROP"}
	}
	for _, tc := range []struct {
		d    Direction
		want [][]string
	}{
		{Both, [][]string{drop("-I", "10.0.0.1", "10.0.0.2"), drop("-I", "10.0.0.2", "10.0.0.1")}},
		{AToB, [][]string{drop("-I", "10.0.0.1", "10.0.0.2")}},
		{BToA, [][]string{drop("-I", "10.0.0.2", "10.0.0.1")}},
	} {
		require.Equal(t, tc.want, cutRules("-I", tc.d, "10.0.0.1", "10.0.0.2", "chainfs-7"), tc.d.String())
	}
	require.Equal(t, [][]string{drop("-D", "10.0.0.1", "10.0.0.2")}, cutRules("-D", AToB, "10.0.0.1", "10.0.0.2", "chainfs-7"))
}

func TestTaggedRules(t *testing.T) {
	listing := strings.Join([]string{
		"-N DOCKER-USER",
		`-A DOCKER-USER -s 172.31.77.21/32 -d 172.31.77.22/32 -m comment --comment chainfs-7 -j DROP`,
		`-A DOCKER-USER -s 172.31.77.22/32 -d 172.31.77.21/32 -m comment --comment "chainfs-70" -j DROP`,
		`-A DOCKER-USER -s 10.1.0.0/16 -m comment --comment "someone else" -j DROP`,
		"-A DOCKER-USER -j RETURN",
	}, "\n")
	del := func(src, dst, tag string) []string {
		return []string{"-w", "-D", "DOCKER-USER", "-s", src, "-d", dst, "-m", "comment", "--comment", tag, "-j", "DROP"}
	}
	prefix := func(tag string) bool { return strings.HasPrefix(tag, Prefix) }
	require.Equal(t, [][]string{
		del("172.31.77.21/32", "172.31.77.22/32", "chainfs-7"),
		del("172.31.77.22/32", "172.31.77.21/32", "chainfs-70"),
	}, taggedRules(listing, prefix), "every rule of the suite, no one else's")
	require.Equal(t, [][]string{del("172.31.77.21/32", "172.31.77.22/32", "chainfs-7")},
		taggedRules(listing, func(tag string) bool { return tag == "chainfs-7" }), "one cluster's rules only")
	require.Empty(t, taggedRules("-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n", prefix))
}

func TestLinkRuleLine(t *testing.T) {
	const rule = `time=2025-01-01T00:00:00.000Z level=WARN msg="replication link cut between live neighbours: the downstream end leaves the chain (it holds nothing its predecessor lacks) and rejoins as a new node" chain=default pred=n1 succ=n2 silent=2.1s epoch=5`
	logs := "time=x level=INFO msg=\"configuration\" epoch=4\n" + rule + "\n"
	line, ok := linkRuleLine(logs, "n1", "n2")
	require.True(t, ok)
	require.Equal(t, rule, line)
	for _, tc := range []struct{ logs, pred, succ string }{
		{logs, "n2", "n3"},
		{logs, "n1", "n22"},
		{strings.Replace(rule, "link cut", "link fine", 1), "n1", "n2"},
		{"", "n1", "n2"},
	} {
		_, ok := linkRuleLine(tc.logs, tc.pred, tc.succ)
		require.False(t, ok, "%q %s-%s", tc.logs, tc.pred, tc.succ)
	}
}
