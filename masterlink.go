package chain

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// masterLink is a node's view of its contact with the master.
type masterLink struct {
	origin time.Time // the node's monotonic clock reads time.Since(origin)

	mu    sync.Mutex
	lease replica.Lease // guarded by mu

	heartbeatEvery atomic.Int64       // nanoseconds
	updates        chan pendingConfig // configurations to adopt, latest wins
	// superseding is the highest epoch the master has announced to the
	// node: above the node's own, the node admits no request
	// (replica.NodeView.Superseding) until it has adopted it.
	superseding atomic.Uint64
	current     atomic.Int32 // index of the master heartbeats go to
	answered    atomic.Bool  // the current master answered since the last heartbeat
}

// pendingConfig is a configuration from the master waiting to be adopted,
// with the send instant of the heartbeat it answers (on the node's
// monotonic clock; 0 when it answers none) when the master group's leader
// vouched for the node with it (only the leader's replies renew contact).
type pendingConfig struct {
	cfg   Config
	echo  time.Duration
	place bool // the master confirmed the node's place in cfg (see place.go)
}

// supersedes reports whether p is to be adopted rather than q, both of one
// chain: the higher epoch, or at one epoch the one that renews contact
// from the later instant.
func (p pendingConfig) supersedes(q pendingConfig) bool {
	return p.cfg.Epoch > q.cfg.Epoch || (p.cfg.Epoch == q.cfg.Epoch && p.echo > q.echo)
}

// init starts the link fenced: a node following a master serves only once
// the master has answered it, so a restarted node with an old
// configuration cannot serve stale reads before it learns the current one.
func (m *masterLink) init(heartbeatEvery time.Duration) {
	// The clock starts above zero: its readings travel as heartbeats'
	// send instants, where 0 means none.
	m.origin = time.Now().Add(-time.Nanosecond)
	m.heartbeatEvery.Store(int64(heartbeatEvery))
	m.updates = make(chan pendingConfig, 1)
	m.answered.Store(true) // give the first master a heartbeat's time
}

// now reads the node's monotonic clock; the readings are positive.
func (m *masterLink) now() time.Duration { return time.Since(m.origin) }

// stamp reads the node's clock for a heartbeat about to be sent and notes
// it in the lease, so that the master's reply echoing it can renew the
// lease (replica.Lease.Echoes).
func (m *masterLink) stamp() time.Duration {
	at := m.now()
	m.update(func(l replica.Lease) replica.Lease { return l.Sent(at) })
	return at
}

// update changes the lease under the link's lock.
func (m *masterLink) update(f func(replica.Lease) replica.Lease) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lease = f(m.lease)
}

// fenced reports whether a node following a master may not serve now: the
// lease (replica.Lease) the master's replies renew has run out, so the
// master may already have replaced it.
func (n *Node) fenced() bool {
	if len(n.opts.masters) == 0 {
		return false
	}
	now := n.master.now()
	n.master.mu.Lock()
	defer n.master.mu.Unlock()
	return !n.master.lease.MayServe(now)
}

// runHeartbeats tells the master, at its interval, that the node is alive
// and how far its log goes. When the master it heartbeats to has not
// answered by the next heartbeat, it moves on to the next address; a
// master that is not its group's leader sends it to the leader (see
// onConfigUpdate).
func (n *Node) runHeartbeats() {
	masters := n.opts.masters
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-n.lifecycle.done():
			return
		}
		if !n.master.answered.Swap(false) && len(masters) > 1 {
			n.master.current.Store((n.master.current.Load() + 1) % int32(len(masters)))
		}
		cfg := n.cfg.Load()
		_, last, commit, _ := n.log.state()
		to := masters[n.master.current.Load()]
		hb := &wire.Heartbeat{Chain: n.opts.chainID, ID: n.id, Addr: n.addr, Epoch: cfg.Epoch, Last: last, Commit: commit,
			Complete: cfg.Epoch > 0 && n.completeAt.Load() == cfg.Epoch, Sent: n.master.stamp(), Incarnation: n.incarnation,
			Standby: n.standby.Load()}
		if n.placed.Load() && cfg.Epoch > 0 {
			c := cfg.Clone()
			hb.Config = &c
			h := n.linkHealth(cfg)
			hb.Links = &h
		}
		n.send(to, hb)
		timer.Reset(time.Duration(n.master.heartbeatEvery.Load()))
	}
}

// onConfigUpdate takes the master's reply. It renews the node's contact
// with the master only when the reply comes from the leader of the master
// group (not u.Follower), echoes the send instant of a heartbeat the node
// sent (u.HeartbeatSent, see replica.Lease.Answered; the lease runs from
// that instant, never from the reply's arrival, which may come late), and
// the node runs the configuration the master announces: a newer one
// renews contact once adopted, and an older one, from a master that is
// behind the chain, renews nothing. A reply that echoes nothing (an
// announcement, a reply to a configuration request, or one from a master
// that predates the echo) renews nothing either: a node that follows such
// a master stays fenced, so masters are upgraded before their nodes.
//
// Once told of a newer configuration, by any master (a follower's is
// committed too), the node admits no request until it has adopted it
// (masterLink.superseding), so it never serves under a configuration it
// has been told is over. A follower's reply renews nothing: the node's
// next heartbeat goes to the leader it names (or, when it names none, to
// the next master).
func (n *Node) onConfigUpdate(from string, u *wire.ConfigUpdate) {
	i := slices.Index(n.opts.masters, from)
	if i < 0 || u.Chain != n.opts.chainID {
		return
	}
	leader := !u.Follower
	switch {
	case leader:
		n.master.current.Store(int32(i))
		n.master.answered.Store(true)
	case u.Leader != "" && u.Leader != from:
		if j := slices.Index(n.opts.masters, u.Leader); j >= 0 {
			n.master.current.Store(int32(j))
			n.master.answered.Store(true)
		}
	}
	var echo time.Duration // what the reply vouches for: 0 for nothing
	if leader {
		echo = u.HeartbeatSent
	}
	n.master.update(func(l replica.Lease) replica.Lease { return l.WithFenceAfter(time.Duration(u.FenceAfter)) })
	if u.HeartbeatEvery > 0 {
		n.master.heartbeatEvery.Store(int64(u.HeartbeatEvery))
	}
	if u.LinkTimeout > 0 {
		n.links.timeout.Store(int64(u.LinkTimeout))
	}
	n.noteStandby(u, leader)
	if n.onReplyUnplaced(u, leader, echo) {
		return
	}
	cur := n.cfg.Load().Epoch
	switch {
	case u.Config.Epoch == cur:
		if leader {
			n.setFenceCause("")
			n.master.renewBy(echo)
			// The master confirms the configuration the node runs: a
			// tail of it (a sole member restarted) commits what it holds.
			n.commitReported(replica.Report{})
		}
		return
	case u.Config.Epoch < cur:
		n.masterBehind(u.Config.Epoch, cur)
		return
	}
	n.master.supersededBy(u.Config.Epoch)
	n.master.offer(pendingConfig{cfg: u.Config, echo: echo})
}

// offer queues p for the reconfigurer, in place of a queued configuration
// that supersedes it.
func (m *masterLink) offer(p pendingConfig) {
	for {
		select {
		case m.updates <- p:
			return
		default:
		}
		select {
		case old := <-m.updates:
			if old.supersedes(p) {
				p = old
			}
		default:
		}
	}
}

// renewBy renews the lease by a leader's reply that echoes the send
// instant echo (replica.Lease.Answered: nothing for an echo the node did
// not send).
func (m *masterLink) renewBy(echo time.Duration) {
	m.update(func(l replica.Lease) replica.Lease { return l.Answered(echo) })
}

// supersededBy notes that the master announced a configuration at epoch.
func (m *masterLink) supersededBy(epoch uint64) {
	for {
		cur := m.superseding.Load()
		if epoch <= cur || m.superseding.CompareAndSwap(cur, epoch) {
			return
		}
	}
}

// runReconfigurer adopts the configurations the master announces. It runs
// apart from the receiver because a role change waits for the old role's
// goroutines.
func (n *Node) runReconfigurer() {
	for {
		select {
		case p := <-n.master.updates:
			if err := n.reconfigure(p.cfg, p.place); err != nil {
				n.logger.Warn("could not adopt configuration", "epoch", p.cfg.Epoch, "err", err)
				continue
			}
			if n.cfg.Load().Epoch == p.cfg.Epoch {
				n.master.renewBy(p.echo)
			}
		case <-n.lifecycle.done():
			return
		}
	}
}
