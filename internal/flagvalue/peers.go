package flagvalue

import (
	"fmt"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
)

// ParsePeers parses a master group, "addr=raftaddr,..." (every master's
// chain-transport address and raft address).
func ParsePeers(s string) ([]master.Peer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("peers: %w: empty list", chain.ErrInvalidConfig)
	}
	var peers []master.Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		addr, raftAddr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || addr == "" || raftAddr == "" {
			return nil, fmt.Errorf("peers: %w: %q is not addr=raftaddr", chain.ErrInvalidConfig, part)
		}
		if seen[addr] || seen["raft "+raftAddr] {
			return nil, fmt.Errorf("peers: %w: %q listed twice", chain.ErrInvalidConfig, part)
		}
		seen[addr], seen["raft "+raftAddr] = true, true
		peers = append(peers, master.Peer{Addr: addr, RaftAddr: raftAddr})
	}
	return peers, nil
}

// SplitAddrs splits a comma-separated list of addresses, dropping empty
// ones.
func SplitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
