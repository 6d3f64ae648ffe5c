package master

import (
	"time"

	"github.com/hashicorp/raft"
)

// detect follows the raft leadership and, on the leader, runs the failure
// detector and the join logic.
func (m *Master) detect() {
	tick := time.NewTicker(m.opts.FailureTimeout / 10)
	defer tick.Stop()
	var blindSince time.Time
	for {
		fn := func(cl *cluster) error { cl.tick(time.Now()); logLinkCuts(m.log, cl.takeLinkCuts()); return nil }
		select {
		case <-tick.C:
		case <-m.kick:
			// Commit what a heartbeat changed, without a tick, and remove
			// the members it found to have lost entries.
			fn = func(cl *cluster) error { cl.dropLost(time.Now()); return nil }
		case <-m.ctx.Done():
			return
		}
		m.followLeadership()
		if !m.IsLeader() {
			blindSince = time.Time{}
			continue
		}
		_, _ = m.change(fn)
		blindSince = m.handOffIfBlind(blindSince)
	}
}

// handOffIfBlind hands the leadership to another master when this one
// has heard from no member for a failure timeout: most likely the nodes
// cannot reach it, and a leader they cannot reach keeps them fenced. It
// returns when the blind period began (zero when not blind).
func (m *Master) handOffIfBlind(since time.Time) time.Time {
	now := time.Now()
	m.mu.Lock()
	blind := m.cl != nil && m.cl.blind()
	m.mu.Unlock()
	switch {
	case !blind:
		return time.Time{}
	case since.IsZero():
		return now
	case now.Sub(since) < m.opts.FailureTimeout:
		return since
	}
	if ps, err := m.Masters(); err != nil || len(ps) < 2 {
		return now
	}
	m.log.Warn("no member heard from: handing the leadership to another master")
	if err := m.raft.LeadershipTransfer().Error(); err != nil {
		m.log.Warn("leadership transfer failed", "err", err)
	}
	return now
}

// followLeadership starts leading when raft made this master the leader
// and stops when it no longer is.
func (m *Master) followLeadership() {
	isLeader := m.raft.State() == raft.Leader
	m.mu.Lock()
	leading := m.leading
	if leading && !isLeader {
		m.leading, m.cl = false, nil
	}
	m.mu.Unlock()
	switch {
	case isLeader && !leading:
		m.lead()
	case leading && !isLeader:
		m.log.Info("no longer the leader of the master group")
	}
}

// lead makes this newly elected master the one that runs the detector: it
// waits until it has applied every committed entry, sets the initial
// configuration if the group has none yet, and gives every configured
// node a full failure timeout from now to report.
func (m *Master) lead() {
	if err := m.raft.Barrier(m.opts.FailureTimeout).Error(); err != nil {
		m.log.Warn("leader could not catch up", "err", err)
		return
	}
	d, ver := m.fsm.current()
	if len(d.Chains) == 0 && d.Plan.Chains == 0 {
		init, err := m.opts.initial()
		if err != nil {
			m.log.Error("the master group has no configuration and this master was given none", "err", err)
			return
		}
		if _, err := m.commit(ver, init, false); err != nil {
			m.log.Warn("initial configuration not committed", "err", err)
			return
		}
		d, ver = m.fsm.current()
	}
	m.mu.Lock()
	m.cl = newCluster(d, m.opts.FailureTimeout, time.Now())
	m.base = ver
	m.leading = true
	m.mu.Unlock()
	m.log.Info("leading the master group", "chains", len(d.Chains), "servers", len(d.Servers))
}

// change runs fn on the leader's working state and commits the result
// through raft. A change a heartbeat made to the working state (a storage
// incarnation recorded, a configuration adopted) is committed first, on
// its own: fn runs only on a working state equal to the applied one, so
// every change is decided on the latest applied state (the FSM refuses a
// change decided on an older one, or two epochs above it). Changes are
// serialized. When a commit fails the working state goes back to the
// applied state at the next change (what heartbeats marked, such as a
// member that lost entries, stays and is decided again). It returns the
// applied state after the change (or the applied one, on an error).
func (m *Master) change(fn func(*cluster) error) (durable, error) {
	m.propose.Lock()
	defer m.propose.Unlock()
	// A heartbeat may change the working state again while a commit
	// waits; fn waits for a few such commits at most.
	for range 4 {
		d, ran, err := m.commitWorking(fn)
		if err != nil || ran || fn == nil {
			return d, err
		}
	}
	d, _, err := m.commitWorking(fn)
	return d, err
}

// commitWorking applies fn (if any) to the working state, unless the
// working state holds changes not yet committed, and commits the working
// state if it differs from the applied one, then announces every chain's
// new configuration. It reports whether fn ran. m.propose must be held.
func (m *Master) commitWorking(fn func(*cluster) error) (_ durable, ran bool, _ error) {
	m.mu.Lock()
	if m.cl == nil {
		m.mu.Unlock()
		d, _ := m.fsm.current()
		return d, false, ErrNotLeader
	}
	m.syncLocked(time.Now())
	if fn != nil {
		if cur, ver := m.fsm.current(); ver == m.base && m.cl.durable().equal(cur) {
			if err := fn(m.cl); err != nil {
				m.mu.Unlock()
				d, _ := m.fsm.current()
				return d, true, err
			}
			ran = true
		}
	}
	next, base, adopt := m.cl.durable(), m.base, m.cl.adopting()
	reasons := m.reconfigsLocked(next, time.Now())
	m.mu.Unlock()
	cur, ver := m.fsm.current()
	if ver == base && next.equal(cur) {
		return cur, ran, nil
	}
	after, err := m.commit(base, next, adopt)
	m.mu.Lock()
	if err != nil {
		m.base = ^uint64(0) // reload the applied state at the next sync
		m.mu.Unlock()
		m.log.Warn("configuration change not committed", "err", err)
		return cur, ran, err
	}
	m.base = after
	if adopt {
		m.cl.adopted(next)
	}
	m.mu.Unlock()
	m.metrics.committed(reasons)
	for _, r := range reasons {
		cfg := chainConfig(next, r.chain)
		m.log.Info("configuration changed", "chain", r.chain, "epoch", cfg.Epoch, "reason", r.reason, "cause", r.cause,
			"members", cfg.Members, "joining", cfg.Joining)
	}
	for _, c := range next.Chains {
		if old, ok := cur.chain(c.ID); !ok || old.Config.Epoch != c.Config.Epoch {
			m.announce(c.ID, c.Config)
		}
	}
	return next, ran, nil
}

// syncLocked reloads the replicated part of the working state when the
// applied state moved on without it. m.mu must be held.
func (m *Master) syncLocked(now time.Time) {
	if _, ver := m.fsm.current(); ver == m.base {
		return
	}
	d, ver := m.fsm.current()
	m.cl.load(d, now)
	m.base = ver
}
