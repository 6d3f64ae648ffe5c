// Package flagvalue parses and formats the command-line values the
// programs share: member lists ("id=addr,..."), master groups
// ("addr=raftaddr,..."), address lists ("a,b") and the PEM files of a TLS
// identity. ParseMembers' and ParsePeers' errors wrap chain.ErrInvalidConfig
// and name the bad part.
package flagvalue

import (
	"fmt"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
)

// ParseMembers parses "id=addr,id=addr,..." (head first) into members.
func ParseMembers(s string) ([]chain.Member, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("members: %w: empty list", chain.ErrInvalidConfig)
	}
	var members []chain.Member
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("members: %w: %q is not id=address", chain.ErrInvalidConfig, part)
		}
		members = append(members, chain.Member{ID: id, Addr: addr})
	}
	cfg := chain.Config{Epoch: 1, Members: members}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return members, nil
}

// FormatMembers is the inverse of ParseMembers.
func FormatMembers(members []chain.Member) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

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
