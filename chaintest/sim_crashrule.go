package chaintest

import (
	"slices"

	"github.com/chainrep/chain"
)

// replicaView is what serverToCrash knows of one running replica of a
// chain.
type replicaView struct {
	server int // the index of the server hosting it; -1 if unknown
	// member: a member of the configuration (not the joining node).
	member bool
	// reachable: its server is not cut off (isolated, paused, or under a
	// message rule) and it serves.
	reachable    bool
	commit, last uint64
}

// replicaViews returns the running replicas of the chain of cfg: its
// members and its joining node.
func (r *simRun) replicaViews(cfg chain.Config, running map[string]*chain.Node) []replicaView {
	ms := slices.Clone(cfg.Members)
	if cfg.Joining != nil {
		ms = append(ms, *cfg.Joining)
	}
	var out []replicaView
	for k, m := range ms {
		n := running[m.ID]
		if n == nil {
			continue
		}
		s, j := n.Stats(), serverOf(m)
		out = append(out, replicaView{
			server: j, member: k < len(cfg.Members), commit: s.CommitPoint, last: s.LastOffset,
			reachable: s.Err == nil && j >= 0 && !r.cutOff(j) && !r.ruledOn(r.p.ServerAddr(j)),
		})
	}
	return out
}

// crashKeepsChain is the rule by which a partitioned schedule crashes a
// server (whose replicas keep their logs in memory: a crash loses them):
// only if a member of every chain on another server, reachable (a member
// cut off may be taken for failed and removed while the crashed server's
// replicas are gone: two failures, which two replicas cannot survive),
// holds every entry committed so far on any running replica of the chain,
// the crashed server's included, and every write the clients saw
// acknowledged (acked), as wipeKeepsLog has it. A server that restarted
// hosts empty replicas, which the masters may still list as members until
// they notice; they count only once they caught up, also for a workload
// that reports no offsets of its writes (acked 0).
func crashKeepsChain(crashed int, acked uint64, replicas []replicaView) bool {
	var commits, others []uint64
	for _, rv := range replicas {
		commits = append(commits, rv.commit)
		if rv.member && rv.reachable && rv.server != crashed {
			others = append(others, rv.last)
		}
	}
	return wipeKeepsLog(acked, commits, others)
}
