package main

import (
	"context"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/masterclient"
)

// The master answers add-node with its configuration as the add left it:
// the node is a standby the master holds, not yet joining, whether or
// not it runs. A node that runs heartbeats every tenth of the failure
// timeout, and at its first heartbeat after the add the master lets it
// join (a configuration of the next epoch); add-node waits for that
// configuration, so that what it prints is not already stale when the
// node runs.

// Bounds of add-node's wait for the added node to join, and how often it
// asks: a node that runs joins within a heartbeat and a raft commit; one
// that is not running (or cannot reach the master) is not waited for
// longer than joinWaitMin, or twice the master's failure timeout when
// that is longer.
const (
	joinWaitMin   = 2 * time.Second
	joinPollEvery = 50 * time.Millisecond
)

// joinWait is how long add-node waits for the added node, given the
// master's failure timeout (zero when the master did not say).
func joinWait(failureTimeout time.Duration) time.Duration {
	return max(joinWaitMin, 2*failureTimeout)
}

// awaitJoin asks the master at addr for its configuration until the node
// id is in it, joining or a member, for at most joinWait of the master's
// failure timeout from now (and not past ctx). It returns the latest
// configuration it got (cfg when none came) and whether the node is in
// it.
func (s *call) awaitJoin(ctx context.Context, addr, id string, cfg chain.Config) (chain.Config, bool) {
	start := time.Now()
	deadline := start.Add(joinWaitMin)
	for cfg.Role(id) == chain.RoleNone {
		actx, cancel := context.WithDeadline(ctx, deadline)
		u, err := masterclient.FetchUpdate(actx, s.tr, addr)
		cancel()
		if err == nil {
			deadline = start.Add(joinWait(u.LinkTimeout))
			if u.Config.Epoch >= cfg.Epoch {
				cfg = u.Config
			}
			if cfg.Role(id) != chain.RoleNone {
				break
			}
		}
		if !time.Now().Add(joinPollEvery).Before(deadline) {
			return cfg, false
		}
		select {
		case <-ctx.Done():
			return cfg, false
		case <-time.After(joinPollEvery):
		}
	}
	return cfg, true
}
