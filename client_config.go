package chain

import (
	"context"
	"time"

	"github.com/chainrep/chain/wire"
)

// probeID is the request ID of the client's status probes, above any ID a
// call draws: a response carrying it answers no call, and its status is a
// configuration report (see Client.probe).
const probeID = 1 << 63

// adoptable is the client's configuration rule: it takes reported, from a
// master or a node, only when reported is a valid configuration of a later
// epoch than have. A client never goes back to an older epoch, so a lagging
// master or a node that was left behind cannot take it back.
func adoptable(have, reported Config) bool {
	return reported.Epoch > have.Epoch && reported.Validate() == nil
}

// statusConfig is the configuration a node reports in its status: its
// epoch and members (the joining node, which answers no client, is not
// reported).
func statusConfig(st *NodeStatus) Config {
	return Config{Epoch: st.Epoch, Members: st.Members}
}

// nextBackoff is the retry rule: how long a call waits for an answer to
// its next copy, given how long it waited for the last. It doubles up to
// max while the configuration stays; while it changes (restart: the
// client took a newer configuration, or a node refused it for not having
// learnt the client's yet, see nodeBehind) it starts again from first,
// since the new head or tail is expected to answer within moments.
func nextBackoff(last, first, max time.Duration, restart bool) time.Duration {
	if restart {
		return first
	}
	return min(2*last, max)
}

// nodeBehind reports whether err refuses a request sent at epoch sent
// because the node holds an older configuration than the client: it is
// about to learn the client's from the master.
func nodeBehind(err *RemoteError, sent uint64) bool {
	return err.Code == wire.CodeStaleEpoch && err.Epoch < sent
}

// refreshDue reports whether the client asks for the configuration again
// at now, having last asked at last: at most once a retry interval.
func refreshDue(now, last time.Time, interval time.Duration) bool {
	return last.IsZero() || now.Sub(last) >= interval
}

// refreshConfig asks for the chain's configuration, unless it was asked
// within the last retry interval: the masters if the client has any, and
// the members of the configuration it holds (a node reports its own in
// its status) if it has none or nodes is set (a node refused the client
// for an older epoch than its own); otherwise the tail alone is probed,
// which reopens the way for its replies (see probe). Answers arrive
// through receive.
func (c *Client) refreshConfig(nodes bool) {
	now := time.Now()
	c.mu.Lock()
	if !refreshDue(now, c.askedAt, c.opts.retryInterval) {
		c.mu.Unlock()
		return
	}
	c.askedAt = now
	addrs := []string{c.tail}
	if nodes || len(c.opts.masters) == 0 {
		addrs = memberAddrs(c.cfg)
	}
	c.mu.Unlock()
	c.probe(addrs...)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.retryInterval)
	defer cancel()
	for _, m := range c.opts.masters {
		_ = c.ep.Send(ctx, m, &wire.ConfigRequest{Chain: c.opts.chainID}) // lost or refused: asked again on the next retry
	}
}

// probe asks each node at addrs for its status. The answers are reports
// of the nodes' configurations (see receive), and a probe opens the way
// back from the node: on a transport where a client is reachable only
// over the connections it opened, the tail can send its replies once the
// client has sent to it.
func (c *Client) probe(addrs ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.retryInterval)
	defer cancel()
	for _, addr := range addrs {
		if addr == "" {
			continue
		}
		_ = c.ep.Send(ctx, addr, &wire.ClientRequest{Op: wire.OpStatus, ID: probeID}) // lost: probed again on the next refresh
	}
}

// adopt takes cfg if the configuration rule (adoptable) allows. Every
// call in flight is then due at once, with its backoff started again: its
// request goes to the new head or tail now rather than after a backoff
// spent on the old one. A new tail is probed so that it can reach the
// client with replies.
func (c *Client) adopt(cfg Config) {
	c.mu.Lock()
	if c.closed || !adoptable(c.cfg, cfg) {
		c.mu.Unlock()
		return
	}
	oldTail := c.tail
	c.cfg = cfg.Clone()
	c.head, c.tail = headAddr(cfg), tailAddr(cfg)
	for _, cl := range c.calls {
		cl.retryAt, cl.retry, cl.newConfig, cl.stuck = time.Time{}, true, true, false
		cl.signal()
	}
	tail := c.tail
	if tail != oldTail {
		// receive, which adopts, must not wait on a send: the probe
		// goes from its own goroutine (c.wg counts receive, so Add is
		// not racing Close's Wait).
		c.wg.Go(func() { c.probe(tail) })
	}
	c.mu.Unlock()
}

// memberAddrs returns the addresses of cfg's members.
func memberAddrs(cfg Config) []string {
	addrs := make([]string, len(cfg.Members))
	for i, m := range cfg.Members {
		addrs[i] = m.Addr
	}
	return addrs
}
