package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/chainrep/chain/internal/flagvalue"
)

// errInsecure is wrapped by requireTLS's refusal.
var errInsecure = errors.New("refusing to listen without TLS")

// listenAddrs returns the addresses the flags make chaind listen on: the
// chain transport's (the master's, the nodes', the servers') and the
// master's raft address. Flags too malformed to say are left to the
// checks that report them.
func listenAddrs(f flags) []string {
	local := func() string {
		if f.listen != "" {
			return f.listen
		}
		return "127.0.0.1:" + strconv.Itoa(f.port-1)
	}
	switch {
	case f.server != "":
		return []string{f.listen}
	case f.master.run:
		addrs := []string{f.listen}
		if f.raft != "" {
			addrs = append(addrs, f.raft)
		}
		if peers, err := flagvalue.ParsePeers(f.peers); err == nil {
			for _, p := range peers {
				if p.Addr == f.listen && p.RaftAddr != f.raft {
					addrs = append(addrs, p.RaftAddr)
				}
			}
		}
		return addrs
	case f.id != "":
		if f.addr != "" {
			return []string{f.addr}
		}
		members, _ := flagvalue.ParseMembers(f.members)
		for _, m := range members {
			if m.ID == f.id {
				return []string{m.Addr}
			}
		}
		return nil
	default: // a local chain or cluster: its nodes and servers are on 127.0.0.1
		return []string{local()}
	}
}

// isLoopback reports whether addr (host:port) listens on loopback only:
// a loopback IP or "localhost". An empty host (all interfaces), any other
// name, and anything unparsable are not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requireTLS refuses to listen on a non-loopback address without TLS,
// unless insecure (-insecure) says to: without TLS anyone who can reach
// the port can reconfigure the chain. It returns the addresses that are
// exposed without TLS (to warn about under -insecure) and the refusal.
// An address that is not host:port is left to the listener to report.
func requireTLS(addrs []string, tlsOn, insecure bool) (exposed []string, err error) {
	if tlsOn {
		return nil, nil
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err == nil && !isLoopback(a) {
			exposed = append(exposed, a)
		}
	}
	if len(exposed) == 0 || insecure {
		return exposed, nil
	}
	return exposed, fmt.Errorf("%w on %s, which is not a loopback address: without it anyone who can reach the port "+
		"can reconfigure the chain; give -tls-cert, -tls-key and -tls-ca (see the README's Security section), "+
		"or -insecure to run unauthenticated anyway", errInsecure, strings.Join(exposed, ", "))
}
