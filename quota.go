package chain

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// clientQuota bounds the client requests each sender (a client's
// address: one connection under TCP) has queued at a node and not yet
// taken up by the sequencer or a read worker, so that one connection
// cannot fill the queues every client shares. A request beyond its
// sender's bound is refused with ErrBusy; refusals are counted and logged
// at most once a second. It is safe for concurrent use.
type clientQuota struct {
	limit   int
	log     *slog.Logger
	node    string
	refused atomic.Uint64

	mu      sync.Mutex
	pending map[string]int
	logged  time.Time // when a refusal was last logged
	skipped uint64    // refusals not logged since
}

func newClientQuota(limit int, node string, log *slog.Logger) *clientQuota {
	return &clientQuota{limit: limit, node: node, log: log, pending: make(map[string]int)}
}

// acquire counts one more request queued from client, unless client has
// limit queued already: then it counts and logs the refusal and returns
// false.
func (q *clientQuota) acquire(client string) bool {
	q.mu.Lock()
	if q.pending[client] < q.limit {
		q.pending[client]++
		q.mu.Unlock()
		return true
	}
	now := time.Now()
	logIt := now.Sub(q.logged) >= time.Second
	skipped := q.skipped
	if logIt {
		q.logged, q.skipped = now, 0
	} else {
		q.skipped++
	}
	q.mu.Unlock()
	if logIt {
		q.log.Warn("refused client request: too many pending from its connection",
			"node", q.node, "client", client, "max_pending_per_client", q.limit, "unlogged_before", skipped)
	}
	q.refused.Add(1)
	return false
}

// release uncounts a request of client acquire counted, once it leaves
// the queue.
func (q *clientQuota) release(client string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending[client]--; q.pending[client] <= 0 {
		delete(q.pending, client)
	}
}

// Refused returns the number of requests refused by the quota.
func (q *clientQuota) Refused() uint64 { return q.refused.Load() }
