package master

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain/auth"
)

// raftClaim is who a raft RPC says it comes from: the server ID and
// address of its header, and the address in the request's older field
// (Leader of AppendEntries and InstallSnapshot, Candidate of RequestVote),
// which raft falls back on.
type raftClaim struct {
	ID    string
	Addrs []string // the non-empty claimed addresses
}

// errRaftImpersonation is wrapped by checkRaftClaim's refusals.
var errRaftImpersonation = errors.New("raft RPC does not come from the member it names")

// checkRaftClaim decides whether an RPC claiming claim may come from the
// peer whose verified certificate names peer, given the raft
// configuration servers (nil: not known yet). A peer whose certificate
// names no chain identity is not bound to a member (RequireMasterRole,
// which chaind sets, refuses such certificates). Otherwise:
//
//   - the RPC must name a server ID, and the certificate must name it:
//     as its name (chain://master/ID) or among its addresses
//     (chain-addr://ID; a master's raft server ID is its address);
//   - with a configuration that has servers, the ID must be one of them,
//     and every address the RPC claims must be the one the configuration
//     gives that server. With an empty configuration (a master that
//     joins, before the leader's first AppendEntries), the ID check
//     alone applies; with none known yet, the RPC is refused.
//
// So a master's certificate cannot speak for another master in raft.
func checkRaftClaim(peer *auth.Identity, claim raftClaim, servers []raft.Server, known bool) error {
	if peer == nil || peer.Role == "" {
		return nil
	}
	switch {
	case claim.ID == "":
		return fmt.Errorf("%w: it names no server ID (certificate of %s)", errRaftImpersonation, peer)
	case peer.Name != claim.ID && !peer.HasAddr(claim.ID):
		return fmt.Errorf("%w: it claims server %s, which the certificate of %s does not name", errRaftImpersonation, claim.ID, peer)
	case !known:
		return fmt.Errorf("%w: raft is not running yet", errRaftImpersonation)
	case len(servers) == 0:
		return nil
	}
	for _, s := range servers {
		if string(s.ID) != claim.ID {
			continue
		}
		for _, a := range claim.Addrs {
			if a != string(s.Address) {
				return fmt.Errorf("%w: server %s claims raft address %s, but the configuration gives it %s",
					errRaftImpersonation, claim.ID, a, s.Address)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: server %s is not a member of the raft configuration", errRaftImpersonation, claim.ID)
}

// errRaftWrongPeer is wrapped by checkDialedPeer's refusals.
var errRaftWrongPeer = errors.New("raft peer is not the member at the address dialed")

// checkDialedPeer decides whether the peer whose verified certificate
// names peer, answering at the raft address addr this master dialed, is
// the member at addr, given the raft configuration servers (nil: not
// known yet). It is checkRaftClaim's rule seen from the dialing side: a
// peer whose certificate names no chain identity is not bound to a member
// (RequireMasterRole, which chaind sets on both sides, refuses such
// certificates, as it refuses other roles'). Otherwise the certificate
// must name addr, as written, among its addresses (chain-addr://ADDR),
// or name a server the configuration gives the raft address addr, as
// checkRaftClaim takes a server ID: as its name (chain://master/ID) or
// among its addresses (chain-addr://ID). So whoever answers at a
// member's raft address with another master's certificate, or with a
// certificate naming no member, gets no RPC from this master, and this
// master believes none of its answers.
func checkDialedPeer(peer *auth.Identity, addr string, servers []raft.Server, known bool) error {
	if peer == nil || peer.Role == "" || peer.HasAddr(addr) {
		return nil
	}
	if !known {
		return fmt.Errorf("%w: the certificate of %s does not name %s, and raft is not running yet", errRaftWrongPeer, peer, addr)
	}
	for _, s := range servers {
		if string(s.Address) == addr && (peer.Name == string(s.ID) || peer.HasAddr(string(s.ID))) {
			return nil
		}
	}
	return fmt.Errorf("%w: the certificate of %s names neither %s nor the member the raft configuration gives that address",
		errRaftWrongPeer, peer, addr)
}

// claimOf returns who the raft request req says it comes from.
func claimOf(req any) (raftClaim, error) {
	var hdr raft.RPCHeader
	var old []byte
	switch r := req.(type) {
	case *raft.AppendEntriesRequest:
		hdr, old = r.RPCHeader, r.Leader
	case *raft.RequestVoteRequest:
		hdr, old = r.RPCHeader, r.Candidate
	case *raft.RequestPreVoteRequest:
		hdr = r.RPCHeader
	case *raft.InstallSnapshotRequest:
		hdr, old = r.RPCHeader, r.Leader
	case *raft.TimeoutNowRequest:
		hdr = r.RPCHeader
	default:
		return raftClaim{}, fmt.Errorf("unknown raft request %T", req)
	}
	c := raftClaim{ID: string(hdr.ID)}
	for _, a := range [][]byte{hdr.Addr, old} {
		if len(a) > 0 {
			c.Addrs = append(c.Addrs, string(a))
		}
	}
	return c, nil
}
