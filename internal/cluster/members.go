// Package cluster holds what the bundled programs share: the members flag,
// opening a node's storage, starting nodes that run the key-value store,
// starting a configuration master, alone or one of a group replicated on
// raft (MasterConfig.Peers, ParsePeers), and talking to the masters
// (FetchConfig and Admin take the list of a group's addresses, try each in
// turn and follow a follower's redirect to the leader; FetchUpdate asks
// one master which master leads).
package cluster

import (
	"fmt"
	"strings"

	"github.com/chainrep/chain"
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
		parts[i] = m.ID + "=" + m.Addr
	}
	return strings.Join(parts, ",")
}

// LocalMembers returns n members n1..nN listening on 127.0.0.1 from port
// base on.
func LocalMembers(n, base int) []chain.Member {
	members := make([]chain.Member, n)
	for i := range members {
		members[i] = chain.Member{ID: fmt.Sprintf("n%d", i+1), Addr: fmt.Sprintf("127.0.0.1:%d", base+i)}
	}
	return members
}
