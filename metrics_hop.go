package chain

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// hopSlots bounds the responses a hopClock times at once: the stream
// keeps replica.StreamWindow responses unacknowledged, so this leaves
// room for a window and a half.
const hopSlots = 8

// hopClock times one replication hop: from the pull server sending a
// response with entries to the successor to the successor's pull that
// acknowledges holding them. It keeps the send times of the latest
// responses in a fixed ring, so timing allocates nothing. Timings across
// a stream restart or a change of successor are dropped, not guessed.
type hopClock struct {
	hist prometheus.Histogram

	mu   sync.Mutex
	ring [hopSlots]hopSend
	head int // index of the oldest send
	n    int // sends in the ring
}

// hopSend is one response sent: the last offset it carried and when.
type hopSend struct {
	last uint64
	at   time.Time
}

// sent records that a response carrying entries through last was sent at
// now. A response that does not go beyond the previous one starts a new
// stream (a resend): the older sends are forgotten.
func (h *hopClock) sent(last uint64, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n > 0 && last <= h.ring[(h.head+h.n-1)%hopSlots].last {
		h.n = 0
	}
	if h.n == hopSlots { // the oldest goes untimed
		h.head = (h.head + 1) % hopSlots
		h.n--
	}
	h.ring[(h.head+h.n)%hopSlots] = hopSend{last: last, at: now}
	h.n++
}

// acked records that the successor holds every entry through off, as of
// now, and observes the hop time of each response that acknowledges.
func (h *hopClock) acked(off uint64, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.n > 0 && h.ring[h.head].last <= off {
		h.hist.Observe(now.Sub(h.ring[h.head].at).Seconds())
		h.head = (h.head + 1) % hopSlots
		h.n--
	}
}
