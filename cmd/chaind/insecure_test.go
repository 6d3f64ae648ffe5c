package main

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7001": true,
		"127.5.6.7:7001": true,
		"[::1]:7001":     true,
		"localhost:7001": true,
		"LOCALHOST:7001": true,
		"10.0.0.5:7001":  false,
		":7001":          false,
		"0.0.0.0:7001":   false,
		"[::]:7001":      false,
		"db1.lan:7001":   false,
		"127.0.0.1":      false,
		"":               false,
	} {
		require.Equal(t, want, isLoopback(addr), addr)
	}
}

func TestRequireTLS(t *testing.T) {
	for _, tc := range []struct {
		name          string
		addrs         []string
		tls, insecure bool
		exposed       []string
		refused       bool
	}{
		{"loopback without TLS", []string{"127.0.0.1:7000", "127.0.0.1:7100"}, false, false, nil, false},
		{"exposed without TLS", []string{"127.0.0.1:7000", "10.0.0.5:7100"}, false, false, []string{"10.0.0.5:7100"}, true},
		{"all interfaces without TLS", []string{":7000"}, false, false, []string{":7000"}, true},
		{"malformed: left to the listener", []string{"notanaddr", ""}, false, false, nil, false},
		{"exposed with -insecure", []string{"10.0.0.5:7000"}, false, true, []string{"10.0.0.5:7000"}, false},
		{"exposed with TLS", []string{"10.0.0.5:7000"}, true, false, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exposed, err := requireTLS(tc.addrs, tc.tls, tc.insecure)
			require.Equal(t, tc.exposed, exposed)
			require.Equal(t, tc.refused, errors.Is(err, errInsecure), "%v", err)
		})
	}
}

func TestListenAddrs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-id", "n2", "-members", "n1=10.0.0.1:7001,n2=10.0.0.2:7001"}, []string{"10.0.0.2:7001"}},
		{[]string{"-id", "n4", "-addr", "10.0.0.4:7001", "-master", "10.0.0.9:7000"}, []string{"10.0.0.4:7001"}},
		{[]string{"-master", "-listen", "10.0.0.9:7000", "-members", "n1=10.0.0.1:7001",
			"-peers", "10.0.0.9:7000=10.0.0.9:7100,10.0.0.8:7000=10.0.0.8:7100"}, []string{"10.0.0.9:7000", "10.0.0.9:7100"}},
		{[]string{"-master", "-listen", "10.0.0.9:7000", "-raft", "10.0.0.9:7200", "-members", "n1=10.0.0.1:7001"},
			[]string{"10.0.0.9:7000", "10.0.0.9:7200"}},
		{[]string{"-server", "s1", "-listen", "10.0.0.3:7101", "-master", "10.0.0.9:7000"}, []string{"10.0.0.3:7101"}},
		{[]string{}, []string{"127.0.0.1:7000"}},
		{[]string{"-listen", "0.0.0.0:7000"}, []string{"0.0.0.0:7000"}},
	} {
		f, err := parseFlags(tc.args, io.Discard)
		require.NoError(t, err, "%q", tc.args)
		require.Equal(t, tc.want, listenAddrs(f), "%q", tc.args)
	}
}

// TestRefusesNonLoopbackWithoutTLS: chaind says why it will not start,
// and -insecure lets it.
func TestRefusesNonLoopbackWithoutTLS(t *testing.T) {
	err := run(t.Context(), []string{"-id", "n1", "-members", "n1=192.0.2.1:7001"}, io.Discard)
	require.ErrorIs(t, err, errInsecure)
	require.ErrorContains(t, err, "192.0.2.1:7001")
	require.ErrorContains(t, err, "-insecure")
}
