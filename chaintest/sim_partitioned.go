package chaintest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// PartitionShape is the shape of a partitioned schedule's cluster: Chains
// chains of Replicas replicas on Servers servers (package server), whose
// replicas keep their logs in memory (a restarted server's replicas
// rejoin as new nodes).
type PartitionShape struct {
	Servers, Chains, Replicas int
}

// partitionedKinds are the fault kinds a partitioned schedule draws: on
// servers (a crash loses the server's replicas, which the masters place
// anew), the network and the masters.
var partitionedKinds = []FaultKind{FaultCrashQuick, FaultCrashLate, FaultPauseShort, FaultIsolate, FaultCut,
	FaultMessages, FaultMasterKill, FaultMasterPartition, FaultAddNode}

// startPartitioned starts the partitioned cluster of s and a history for
// each of its chains.
func (r *simRun) startPartitioned() {
	s, shape := r.s, r.s.Partitioned
	r.p = StartPartitioned(r.t, PartitionedOptions{
		Masters: s.Masters, Servers: shape.Servers, Chains: shape.Chains, Replicas: shape.Replicas,
		Seed: s.Seed, FailureTimeout: s.FailureTimeout,
		Setup: func(_ wire.Replica, n *chain.Node) error { return s.Workload.Setup(n) },
	})
	r.net, r.group = r.p.Network(), r.p.group
	for _, ch := range r.p.Layout().Chains {
		r.histories = append(r.histories, newChainHistory(ch.ID))
	}
	r.clientOf = func(h *chainHistory, _ ClientKind, _ ...chain.ClientOption) *chain.Client {
		ctx, cancel := context.WithTimeout(context.Background(), r.s.livenessBound())
		defer cancel()
		cl, err := r.p.Client().Chain(ctx, h.id)
		if err != nil {
			r.violate("liveness: no client of %s: %v", h.name(), err)
			return nil
		}
		return cl
	}
}

// performPartitioned carries out one step on a partitioned cluster.
func (r *simRun) performPartitioned(st Step) string {
	switch st.Kind {
	case FaultCrashQuick, FaultCrashLate:
		i := r.serverToCrash()
		if i < 0 {
			return skipped(st, "every server hosts the last replica of a chain that runs unfaulted and holds its writes")
		}
		r.net.Crash(r.p.ServerAddr(i))
		r.p.KillServer(i)
		r.tl.after(st.For, func() string { return r.restartServer(i) })
		return fmt.Sprintf("%s: crash server %d", st, i+1)
	case FaultPauseShort, FaultIsolate:
		i := r.runningServer()
		if i < 0 {
			return skipped(st, "no server running")
		}
		addr := r.p.ServerAddr(i)
		r.setCutOff(i, true)
		if st.Kind == FaultIsolate {
			r.net.Isolate(addr)
			r.tl.after(st.For, func() string { r.net.Reconnect(addr); r.setCutOff(i, false); return "reconnect " + addr })
			return fmt.Sprintf("%s: isolate %s", st, addr)
		}
		r.net.Hold(addr)
		r.tl.after(st.For, func() string { r.net.Release(addr); r.setCutOff(i, false); return "release " + addr })
		return fmt.Sprintf("%s: pause %s", st, addr)
	case FaultCut, FaultMessages:
		if i := r.runningServer(); i >= 0 && st.Kind == FaultMessages {
			return r.messagesAt(st, r.p.ServerAddr(i))
		}
		if st.Kind == FaultMessages {
			return r.messagesAt(st, "")
		}
		return r.cut(st)
	case FaultMasterKill, FaultMasterPartition:
		return r.masterFault(st, st.Kind)
	case FaultAddNode:
		if r.p.Servers() >= r.s.Partitioned.Servers+2 {
			return skipped(st, "two servers added already")
		}
		return fmt.Sprintf("%s: server %d", st, r.p.AddServer()+1)
	}
	return skipped(st, "not applicable")
}

// runningServer returns a running server, or -1.
func (r *simRun) runningServer() int {
	var up []int
	for i := range r.p.Servers() {
		if r.p.Server(i) != nil {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		return -1
	}
	return pick(r.rng, up)
}

// serverToCrash returns a running server whose crash leaves every chain a
// replica that holds its log, by the rule of crashKeepsChain. It returns
// -1 if no server qualifies, also when the layout is unknown.
func (r *simRun) serverToCrash() int {
	layout := r.p.Layout()
	if len(layout.Chains) < r.s.Partitioned.Chains {
		return -1 // no master answers: where the replicas run is unknown
	}
	running := r.p.running()
	var cands []int
	for i := range r.p.Servers() {
		if r.p.Server(i) == nil {
			continue
		}
		safe := true
		for _, ch := range layout.Chains {
			safe = safe && crashKeepsChain(i, r.history(ch.ID).maxAcked.Load(), r.replicaViews(ch.Config, running))
		}
		if safe {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return -1
	}
	return pick(r.rng, cands)
}

// history returns the history of the chain id.
func (r *simRun) history(id string) *chainHistory {
	for _, h := range r.histories {
		if h.id == id {
			return h
		}
	}
	return newChainHistory(id) // a chain the run does not know: nothing acknowledged
}

// setCutOff records the start (cut) or the end of a step that isolates
// or pauses server i (in a partitioned cluster; node i in a chain): while
// any such step is in force, its replicas (it) count for no chain's
// survival (see cutOffs).
func (r *simRun) setCutOff(i int, cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cutServers == nil {
		r.cutServers = make(cutOffs)
	}
	if cut {
		r.cutServers.begin(i)
	} else {
		r.cutServers.end(i)
	}
}

// cutOff reports whether a step isolates or pauses server i (node i).
func (r *simRun) cutOff(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cutServers.on(i)
}

// serverOf returns the index of the server hosting replica m
// ("server<index+1>/<chain>"), or -1.
func serverOf(m chain.Member) int {
	addr, _, _ := strings.Cut(m.Addr, "/")
	i, err := strconv.Atoi(strings.TrimPrefix(addr, "server"))
	if err != nil {
		return -1
	}
	return i - 1
}

// restartServer starts server i again if it is down.
func (r *simRun) restartServer(i int) string {
	if r.deferRestarts.Load() {
		return fmt.Sprintf("server %d restarts as the faults end", i+1)
	}
	if r.p.Server(i) != nil {
		return ""
	}
	r.p.RestartServer(i)
	return fmt.Sprintf("restart server %d", i+1)
}

// healServers starts every server that is down, one at a time.
func (r *simRun) healServers() {
	for i := range r.p.Servers() {
		if what := r.restartServer(i); what != "" {
			r.tl.note("%s", what)
			time.Sleep(r.s.FailureTimeout / 5)
		}
	}
}

// checkPartitionedLogs checks every chain's members' committed logs (see
// checkChainLogs).
func (r *simRun) checkPartitionedLogs() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// A node's Log reads only what it has committed, and a head learns of
	// a commit after the tail has answered it: the last write's ack may
	// still be on its way up the chain.
	if err := r.p.WaitConverged(ctx); err != nil {
		r.violate("liveness: the cluster did not converge after the final reads: %v", err)
	}
	for _, h := range r.histories {
		logs := make(map[string][]chain.Entry)
		for _, n := range r.p.Members(h.id) {
			if n == nil {
				continue
			}
			var ents []chain.Entry
			for from := uint64(1); ; {
				page, err := n.Log().Read(ctx, from, 1<<20)
				if err != nil {
					r.violate("read %s's log: %v", n.ID(), err)
					break
				}
				if len(page) == 0 {
					break
				}
				ents = append(ents, page...)
				from += uint64(len(page))
			}
			logs[n.ID()] = ents
		}
		r.checkChainLogs(h, logs)
	}
}

// notePartitionedState logs every chain's configuration and members.
func (r *simRun) notePartitionedState() {
	for _, ch := range r.p.Layout().Chains {
		r.tl.note("chain %s: epoch %d, members %v, joining %v", ch.ID, ch.Config.Epoch, ch.Config.Members, ch.Config.Joining)
		for _, n := range r.p.Members(ch.ID) {
			if n != nil {
				s := n.Stats()
				r.tl.note("  %s: %s at epoch %d, last %d, commit %d, applied %d, err %v", n.ID(), s.Role, s.Epoch, s.LastOffset, s.CommitPoint, s.Applied, s.Err)
			}
		}
	}
}
