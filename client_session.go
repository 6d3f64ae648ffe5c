package chain

import (
	"context"
	"fmt"
	"sync"

	"github.com/chainrep/chain/wire"
)

// clientSession is a client's de-duplication session. A session is a
// random number and a start stamp: a commit point the client learned
// before the session's first write. Every write is sent under the session
// current when it was first sent, so a retry is never taken for a new
// command; once the chain says a session is gone, later writes start a new
// one.
type clientSession struct {
	mu       sync.Mutex
	cur      sessionInfo   // zero until started
	starting chan struct{} // closed when the start under way ends
}

// sessionInfo is what a write carries of its session.
type sessionInfo struct {
	id    uint64 // never zero once started
	since uint64
}

// isWrite reports whether op goes to the head and is ordered in the log.
func isWrite(op wire.Op) bool { return op == wire.OpAppend || op == wire.OpCommand }

// sessionFor returns the client's current session, starting one first if
// there is none: it learns a commit point from the tail. One start at a
// time, which concurrent callers wait for.
func (c *Client) sessionFor(ctx context.Context) (sessionInfo, error) {
	for {
		c.sess.mu.Lock()
		if cur := c.sess.cur; cur.id != 0 {
			c.sess.mu.Unlock()
			return cur, nil
		}
		if wait := c.sess.starting; wait != nil {
			c.sess.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return sessionInfo{}, ctx.Err()
			case <-c.done:
				return sessionInfo{}, ErrClosed
			}
		}
		done := make(chan struct{})
		c.sess.starting = done
		c.sess.mu.Unlock()

		// Any node answers; the tail, which the client follows through
		// reconfigurations, has the chain's commit point.
		resp, err := c.call(ctx, &wire.ClientRequest{Op: wire.OpStatus}, "")
		if err == nil && resp.Status == nil {
			err = fmt.Errorf("%w: status without a status", ErrInvalidArgument)
		}
		c.sess.mu.Lock()
		if err == nil {
			c.sess.cur = sessionInfo{id: newSession(), since: resp.Status.CommitPoint}
		}
		c.sess.starting = nil
		close(done)
		c.sess.mu.Unlock()
		if err != nil {
			return sessionInfo{}, fmt.Errorf("start session: %w", err)
		}
	}
}

// sessionGone forgets session id, which the chain no longer keeps (or
// could not start), so that the next write starts a new one.
func (c *Client) sessionGone(id uint64) {
	c.sess.mu.Lock()
	defer c.sess.mu.Unlock()
	if c.sess.cur.id == id {
		c.sess.cur = sessionInfo{}
	}
}
