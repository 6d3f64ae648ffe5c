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
	current        atomic.Int32       // index of the master heartbeats go to
	answered       atomic.Bool        // the current master answered since the last heartbeat
}

// pendingConfig is a configuration from the master waiting to be adopted,
// with when it arrived (on the node's monotonic clock) and whether it came
// from the master group's leader (only the leader's replies renew contact).
type pendingConfig struct {
	cfg    Config
	at     time.Duration
	leader bool
}

// init starts the link fenced: a node following a master serves only once
// the master has answered it, so a restarted node with an old
// configuration cannot serve stale reads before it learns the current one.
func (m *masterLink) init(heartbeatEvery time.Duration) {
	m.origin = time.Now()
	m.heartbeatEvery.Store(int64(heartbeatEvery))
	m.updates = make(chan pendingConfig, 1)
	m.answered.Store(true) // give the first master a heartbeat's time
}

// now reads the node's monotonic clock.
func (m *masterLink) now() time.Duration { return time.Since(m.origin) }

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
		n.send(to, &wire.Heartbeat{Chain: n.opts.chainID, ID: n.id, Addr: n.addr, Epoch: cfg.Epoch, Last: last, Commit: commit,
			Complete: cfg.Epoch > 0 && n.completeAt.Load() == cfg.Epoch})
		timer.Reset(time.Duration(n.master.heartbeatEvery.Load()))
	}
}

// onConfigUpdate takes the master's reply. It renews the node's contact
// with the master only when the reply comes from the leader of the master
// group (not u.Follower) and the node runs the configuration the master
// announces: a newer one renews contact once adopted (until then the node
// stays fenced, so it never serves under a configuration it has been told
// is over), and an older one, from a master that is behind the chain,
// renews nothing. A follower's configuration is committed, so a newer one
// is adopted, but it renews nothing: the node's next heartbeat goes to the
// leader it names (or, when it names none, to the next master).
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
	now := n.master.now()
	n.master.update(func(l replica.Lease) replica.Lease { return l.WithFenceAfter(time.Duration(u.FenceAfter)) })
	if u.HeartbeatEvery > 0 {
		n.master.heartbeatEvery.Store(int64(u.HeartbeatEvery))
	}
	cur := n.cfg.Load().Epoch
	switch {
	case u.Config.Epoch == cur:
		if leader {
			n.master.renew(now)
			// The master confirms the configuration the node runs: a
			// tail of it (a sole member restarted) commits what it holds.
			n.commitReported(replica.Report{})
		}
		return
	case u.Config.Epoch < cur:
		n.logger.Warn("master is behind the chain; ignoring it", "master epoch", u.Config.Epoch, "epoch", cur)
		return
	}
	p := pendingConfig{cfg: u.Config, at: now, leader: leader}
	for {
		select {
		case n.master.updates <- p:
			return
		default:
		}
		select {
		case old := <-n.master.updates:
			if old.cfg.Epoch > p.cfg.Epoch || (old.cfg.Epoch == p.cfg.Epoch && old.leader) {
				p = old
			}
		default:
		}
	}
}

// renew records contact with the master that began at instant at.
func (m *masterLink) renew(at time.Duration) {
	m.update(func(l replica.Lease) replica.Lease { return l.Renewed(at) })
}

// runReconfigurer adopts the configurations the master announces. It runs
// apart from the receiver because a role change waits for the old role's
// goroutines.
func (n *Node) runReconfigurer() {
	for {
		select {
		case p := <-n.master.updates:
			if err := n.Reconfigure(p.cfg); err != nil {
				n.logger.Warn("could not adopt configuration", "epoch", p.cfg.Epoch, "err", err)
				continue
			}
			if p.leader && n.cfg.Load().Epoch == p.cfg.Epoch {
				n.master.renew(p.at)
			}
		case <-n.lifecycle.done():
			return
		}
	}
}
