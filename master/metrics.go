package master

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
)

// The reasons of reconfigurations, the reason label of
// chain_master_reconfigurations_total, as explainReconfig tells them.
const (
	reasonCreated       = "created"        // the chain's first configuration
	reasonNodeFailed    = "node_failed"    // a member or the joining node stopped heartbeating
	reasonNodeRemoved   = "node_removed"   // one left while alive: RemoveNode, a lost log, a move, a cut link
	reasonJoinStarted   = "join_started"   // a node began to join behind the tail
	reasonJoinCompleted = "join_completed" // the joining node caught up and became the tail
	reasonOther         = "other"
)

var reconfigReasons = []string{reasonCreated, reasonNodeFailed, reasonNodeRemoved, reasonJoinStarted, reasonJoinCompleted, reasonOther}

// reconfig is one chain's change of configuration and its reason (a
// metric label).
type reconfig struct{ chain, reason string }

// reconfigNote is a reconfig with its cause, a line for the log (see
// explainReconfig).
type reconfigNote struct {
	reconfig
	cause string
}

// reconfigsLocked returns the reason of every chain whose configuration
// differs in next from the applied state, with the liveness the working
// state knows at now. m.mu must be held.
func (m *Master) reconfigsLocked(next durable, now time.Time) []reconfigNote {
	cur, _ := m.fsm.current()
	var out []reconfigNote
	for _, c := range next.Chains {
		old, ok := cur.chain(c.ID)
		if ok && old.Config.Epoch == c.Config.Epoch {
			continue
		}
		s := m.cl.chain(c.ID)
		heard := func(id string) (time.Duration, bool, bool) {
			if s == nil || s.nodes[id] == nil {
				return 0, false, false
			}
			return now.Sub(s.nodes[id].lastSeen), true, s.alive(id, now)
		}
		reason, cause := explainReconfig(old.Config, ok, c.Config, heard)
		out = append(out, reconfigNote{reconfig: reconfig{c.ID, reason}, cause: cause})
	}
	return out
}

// masterMetrics counts the reconfigurations this master committed as
// leader. The zero value is ready.
type masterMetrics struct {
	mu       sync.Mutex
	reconfig map[reconfig]uint64
}

func (mm *masterMetrics) committed(rs []reconfigNote) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.reconfig == nil {
		mm.reconfig = make(map[reconfig]uint64)
	}
	for _, r := range rs {
		mm.reconfig[r.reconfig]++
	}
}

func (mm *masterMetrics) count(r reconfig) uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.reconfig[r]
}

// Collector returns a Prometheus collector of the master's metrics, for
// the embedding program to register on its own registry. Every metric
// carries the constant label master (its address). Each master reports
// whether it leads, and each chain's epoch and length as it has applied
// them; the reconfigurations it committed while leading, by chain and
// reason (created, node_failed, node_removed, join_started,
// join_completed, other: sum them over the masters of a group); and, on
// the leader only, how long ago each member, joining node and server was
// last heard from.
func (m *Master) Collector() prometheus.Collector {
	b := metrics.NewBuilder("master", prometheus.Labels{"master": m.opts.Addr})
	leader := b.Desc("leader", "1 while this master leads its group (runs the failure detector), else 0.")
	epoch := b.Desc("epoch", "Epoch of the chain's configuration as this master applied it.", "chain")
	members := b.Desc("members", "Members of the chain's configuration as this master applied it.", "chain")
	joining := b.Desc("joining", "1 while a node is joining the chain.", "chain")
	reconfigs := b.Desc("reconfigurations_total", "Configuration changes this master committed as leader, by reason.", "chain", "reason")
	age := b.Desc("heartbeat_age_seconds", "Leader only: time since each member and joining node was last heard from.", "chain", "node")
	serverAge := b.Desc("server_heartbeat_age_seconds", "Leader only: time since each server of a partitioned cluster was last heard from.", "server")
	unauthorized := b.Desc("unauthorized_messages_total", "Messages refused because their sender's verified identity may not send them.")
	return b.Collector(func(ch chan<- prometheus.Metric) {
		metrics.Gauge(ch, leader, metrics.Bool(m.IsLeader()))
		metrics.Counter(ch, unauthorized, m.Unauthorized())
		d, _ := m.fsm.current()
		for _, c := range d.Chains {
			metrics.Gauge(ch, epoch, float64(c.Config.Epoch), c.ID)
			metrics.Gauge(ch, members, float64(len(c.Config.Members)), c.ID)
			metrics.Gauge(ch, joining, metrics.Bool(c.Config.Joining != nil), c.ID)
			for _, reason := range reconfigReasons {
				metrics.Counter(ch, reconfigs, m.metrics.count(reconfig{c.ID, reason}), c.ID, reason)
			}
		}
		now := time.Now()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.cl == nil {
			return
		}
		for _, s := range m.cl.chains {
			for _, id := range s.configured() {
				if ns := s.nodes[id]; ns != nil {
					metrics.Gauge(ch, age, now.Sub(ns.lastSeen).Seconds(), s.id, id)
				}
			}
		}
		for id, ss := range m.cl.servers {
			metrics.Gauge(ch, serverAge, now.Sub(ss.lastSeen).Seconds(), id)
		}
	})
}
