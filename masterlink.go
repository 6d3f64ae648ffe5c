package chain

import (
	"sync/atomic"
	"time"
)

// masterLink is a node's view of its contact with the master.
type masterLink struct {
	lastContact    atomic.Int64 // unix nanoseconds of the last ConfigUpdate
	fenceAfter     atomic.Int64 // nanoseconds; 0 until the master said
	heartbeatEvery atomic.Int64 // nanoseconds
	updates        chan Config  // configurations to adopt, latest wins
}

// init starts the link fenced: a node following a master serves only once
// the master has answered it, so a restarted node with an old
// configuration cannot serve stale reads before it learns the current one.
func (m *masterLink) init(heartbeatEvery time.Duration) {
	m.fenceAfter.Store(1)
	m.heartbeatEvery.Store(int64(heartbeatEvery))
	m.updates = make(chan Config, 1)
}

// fenced reports whether a node following a master has not heard from it
// for longer than the master allows, so it must not serve: the master may
// already have replaced it.
func (n *Node) fenced() bool {
	if n.opts.master == "" {
		return false
	}
	after := n.master.fenceAfter.Load()
	return after > 0 && time.Now().UnixNano()-n.master.lastContact.Load() > after
}

// runHeartbeats tells the master, at its interval, that the node is alive
// and how far its log goes.
func (n *Node) runHeartbeats() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-n.lifecycle.done():
			return
		}
		cfg := n.cfg.Load()
		_, last, commit, _ := n.log.state()
		n.send(n.opts.master, &Heartbeat{ID: n.id, Addr: n.addr, Epoch: cfg.Epoch, Last: last, Commit: commit})
		timer.Reset(time.Duration(n.master.heartbeatEvery.Load()))
	}
}

// onConfigUpdate takes the master's reply: contact is renewed, and a newer
// configuration is handed to the reconfiguring goroutine.
func (n *Node) onConfigUpdate(from string, u *ConfigUpdate) {
	if from != n.opts.master {
		return
	}
	n.master.lastContact.Store(time.Now().UnixNano())
	if u.FenceAfter > 0 {
		n.master.fenceAfter.Store(int64(u.FenceAfter))
	}
	if u.HeartbeatEvery > 0 {
		n.master.heartbeatEvery.Store(int64(u.HeartbeatEvery))
	}
	if u.Config.Epoch <= n.cfg.Load().Epoch {
		return
	}
	for {
		select {
		case n.master.updates <- u.Config:
			return
		default:
		}
		select {
		case old := <-n.master.updates:
			if old.Epoch > u.Config.Epoch {
				u.Config = old
			}
		default:
		}
	}
}

// runReconfigurer adopts the configurations the master announces. It runs
// apart from the receiver because a role change waits for the old role's
// goroutines.
func (n *Node) runReconfigurer() {
	for {
		select {
		case cfg := <-n.master.updates:
			if err := n.Reconfigure(cfg); err != nil {
				n.logger.Warn("could not adopt configuration", "epoch", cfg.Epoch, "err", err)
			}
		case <-n.lifecycle.done():
			return
		}
	}
}
