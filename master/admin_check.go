package master

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
)

// This file holds the checks of admin changes: pure functions of the
// group's raft configuration, what the leader heard from its peers and
// the change asked for, each returning nil or a refusal whose detail is
// the one-line reason the admin request's answer (and chainctl) gives.

// CheckTCPAddr checks that addr is a dialable TCP address, as
// Options.CheckAddr for a master on the TCP transport: host:port with a
// host and a port in 1-65535, optionally followed by "/sub" (a replica's
// address behind a server's, see package transport/mux). Its error says
// what is wrong.
func CheckTCPAddr(addr string) error {
	base, _, _ := strings.Cut(addr, "/")
	host, port, err := net.SplitHostPort(base)
	if err != nil {
		return fmt.Errorf("address %q is not host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q names no host", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("address %q has no port in 1-65535", addr)
	}
	return nil
}

// checkAddrs refuses the first of addrs that check rejects; a nil check
// accepts any address.
func checkAddrs(check func(string) error, addrs ...string) error {
	if check == nil {
		return nil
	}
	for _, a := range addrs {
		if err := check(a); err != nil {
			return refused(chain.ErrInvalidArgument, err.Error())
		}
	}
	return nil
}

// checkAddMaster decides whether p may be added to the group whose
// servers are servers: both addresses given and accepted by checkAddr
// (the chain transport's) and checkRaftAddr (the raft transport's), the
// id not in the group at another raft address, the raft address not
// another master's. It reports voter when p is already a voter at that
// address (adding it again changes nothing).
func checkAddMaster(servers []raft.Server, p Peer, checkAddr, checkRaftAddr func(string) error) (voter bool, err error) {
	if p.Addr == "" || p.RaftAddr == "" {
		return false, refused(chain.ErrInvalidArgument, "a master needs an address and a raft address")
	}
	if err := checkAddrs(checkAddr, p.Addr); err != nil {
		return false, err
	}
	if err := checkAddrs(checkRaftAddr, p.RaftAddr); err != nil {
		return false, err
	}
	for _, s := range servers {
		switch {
		case string(s.ID) == p.Addr && string(s.Address) != p.RaftAddr:
			return false, refused(chain.ErrInvalidArgument, fmt.Sprintf(
				"master %s is in the group with raft address %s: remove it first", p.Addr, s.Address))
		case string(s.ID) == p.Addr:
			return s.Suffrage == raft.Voter, nil
		case string(s.Address) == p.RaftAddr:
			return false, refused(chain.ErrInvalidArgument, fmt.Sprintf(
				"raft address %s is master %s's", p.RaftAddr, s.ID))
		}
	}
	return false, nil
}

// checkRemoveMaster decides whether the master addr may be removed from
// the group whose servers are servers: it must be in the group, and not
// its last voter.
func checkRemoveMaster(servers []raft.Server, addr string) error {
	var ids []string
	found, voters := false, 0
	for _, s := range servers {
		ids = append(ids, string(s.ID))
		if s.Suffrage == raft.Voter {
			voters++
		}
		if string(s.ID) == addr {
			found = true
		}
	}
	switch {
	case !found:
		return refused(chain.ErrInvalidArgument, fmt.Sprintf("no master %s in the group (its masters: %s)", addr, strings.Join(ids, ", ")))
	case voters == 1 && voterIn(servers, addr):
		return refused(chain.ErrInvalidConfig, fmt.Sprintf("%s is the group's last master", addr))
	}
	return nil
}

func voterIn(servers []raft.Server, id string) bool {
	for _, s := range servers {
		if string(s.ID) == id {
			return s.Suffrage == raft.Voter
		}
	}
	return false
}

// checkQuorum refuses a change (what, as "removing m2") after which the
// group's voters, next, would not have a quorum among the masters
// reachable now: a group that commits such a change can elect no leader
// and make no change again until the unreachable masters come back.
func checkQuorum(what string, next []raft.Server, reachable func(raft.ServerID) bool) error {
	voters, up := 0, 0
	var down []string
	for _, s := range next {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if reachable(s.ID) {
			up++
		} else {
			down = append(down, string(s.ID))
		}
	}
	if quorum := voters/2 + 1; up < quorum {
		return refused(chain.ErrInvalidConfig, fmt.Sprintf(
			"%s would cost the group its quorum: %d of its %d voters would be reachable (%s not), short of %d",
			what, up, voters, strings.Join(down, ", "), quorum))
	}
	return nil
}

// withoutServer returns servers without id.
func withoutServer(servers []raft.Server, id string) []raft.Server {
	var out []raft.Server
	for _, s := range servers {
		if string(s.ID) != id {
			out = append(out, s)
		}
	}
	return out
}

// withVoter returns servers with p a voter.
func withVoter(servers []raft.Server, p Peer) []raft.Server {
	out := withoutServer(servers, p.Addr)
	return append(out, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.Addr), Address: raft.ServerAddress(p.RaftAddr)})
}

// promotion is what to do with a master added as a non-voter.
type promotion int

const (
	promoteWait   promotion = iota // not caught up yet: ask again later
	promoteVoter                   // caught up: make it a voter
	promoteGiveUp                  // not reachable, or not catching up: remove it
)

// catchUp bounds the wait for a master added as a non-voter.
type catchUp struct {
	// MaxLag is how many entries the new master's log may be behind the
	// leader's and still count as caught up.
	MaxLag uint64
	// Reach is how long it may go without answering the leader's raft
	// RPCs (from the start, or since its last answer).
	Reach time.Duration
	// Within is how long it has in all to catch up.
	Within time.Duration
}

// catchUpFor is the bound for a failure timeout: a master that cannot
// answer within 8 raft timeouts (2 s for the default failure timeout), or
// catch up within 16 (4 s, under chainctl's default command timeout), is
// removed again.
func catchUpFor(failure time.Duration) catchUp {
	rt := raftTimeout(failure)
	return catchUp{MaxLag: 16, Reach: 8 * rt, Within: 16 * rt}
}

// decidePromotion decides, at now, on a non-voter added at since whose
// progress is p, while the leader's last log index is leaderLast: promote
// it once its log matches the leader's within b.MaxLag entries; give up
// (with the reason) when it has not answered for b.Reach or has not
// caught up within b.Within; else wait.
func decidePromotion(p peerProgress, leaderLast uint64, since, now time.Time, b catchUp) (promotion, string) {
	lag := leaderLast - min(p.match, leaderLast)
	switch {
	case p.synced && lag <= b.MaxLag:
		return promoteVoter, ""
	case p.contact.IsZero() && now.Sub(since) >= b.Reach:
		return promoteGiveUp, fmt.Sprintf("it never answered raft within %v: is it running with -join, and its raft port reachable from the leader (and, under TLS, certified by the same CA)?", b.Reach)
	case !p.contact.IsZero() && now.Sub(p.contact) >= b.Reach:
		return promoteGiveUp, fmt.Sprintf("it stopped answering raft for %v", b.Reach)
	case now.Sub(since) >= b.Within:
		return promoteGiveUp, fmt.Sprintf("it did not catch up within %v (its log matches to index %d, the leader's is at %d)", b.Within, p.match, leaderLast)
	}
	return promoteWait, ""
}
