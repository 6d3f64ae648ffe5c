package chain

import (
	"time"

	"github.com/chainrep/chain/wire"
)

// call is one request waiting for its response. Its fields other than wake
// are guarded by Client.mu while the call is registered; a finished call
// is out of the table, reached by nothing else, and reused.
type call struct {
	id    uint64
	write bool
	// wake (capacity 1) tells the waiting caller that something below
	// changed, or that the client closed.
	wake chan struct{}

	resp    *wire.ClientResponse // the first response not yet taken
	retryAt time.Time            // when to send again unless answered; zero once due
	retry   bool                 // retryAt passed, or a new configuration came
	// newConfig is set when the retry is due to a new configuration: the
	// backoff starts again (see nextBackoff).
	newConfig bool
	// stuck is set once the call went unanswered for its retry time or
	// was refused in a way that may pass, until a new configuration
	// comes: while a call is stuck, the retry scanner has the client ask
	// for the configuration every retry interval.
	stuck bool
}

// signal wakes the caller, unless a wake-up is already pending.
func (cl *call) signal() {
	select {
	case cl.wake <- struct{}{}:
	default:
	}
}

// reset readies a finished call for reuse.
func (cl *call) reset() {
	select {
	case <-cl.wake: // a wake-up that came after the caller's last
	default:
	}
	cl.resp, cl.retryAt, cl.retry, cl.newConfig, cl.stuck = nil, time.Time{}, false, false, false
}

// retryTick is how often the retry scanner looks for calls due a retry:
// a quarter of the first retry interval, so a retry goes out at most a
// quarter interval late.
func (c *Client) retryTick() time.Duration {
	return max(c.opts.retryInterval/4, time.Millisecond)
}

// runRetries marks the calls whose retry time has passed and wakes them,
// every retryTick while calls are waiting; with none it sleeps until one
// registers. One scanner serves every call, so a call costs no timer.
func (c *Client) runRetries() {
	defer c.wg.Done()
	ticker := time.NewTicker(c.retryTick())
	defer ticker.Stop()
	for {
		select {
		case now := <-ticker.C:
			waiting, stuck := c.markDue(now)
			if stuck {
				c.refreshConfig(false) // at most once a retry interval
			}
			if waiting > 0 {
				continue
			}
			// Nothing waits: sleep until a call registers.
			ticker.Stop()
			select {
			case <-c.busy:
			case <-c.done:
				return
			}
			ticker.Reset(c.retryTick())
		case <-c.done:
			return
		}
	}
}

// markDue flags and wakes the calls due a retry at now; it returns how
// many calls are waiting and whether any of them is stuck.
func (c *Client) markDue(now time.Time) (waiting int, stuck bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.calls {
		if !cl.retryAt.IsZero() && !now.Before(cl.retryAt) {
			cl.retryAt = time.Time{}
			cl.retry, cl.stuck = true, true
			cl.signal()
		}
		stuck = stuck || cl.stuck
	}
	return len(c.calls), stuck
}
