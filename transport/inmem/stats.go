package inmem

import "sync/atomic"

// Stats counts messages on a Network since New.
//
// Every accepted Send counts once in Sent, and every copy of a message
// (Sent plus Duplicated) ends up counted exactly once in Delivered, Dropped
// or Overflow, unless it is still pending as a delayed delivery. So, once
// no delivery is pending, Sent+Duplicated == Delivered+Dropped+Overflow.
type Stats struct {
	// Sent counts messages accepted by Send, whatever became of them.
	Sent uint64
	// Delivered counts copies put into an inbox.
	Delivered uint64
	// Dropped counts copies lost to partitions, isolation or the Drop
	// fault, sent to an address that is unknown or closed, or discarded
	// because their destination closed while they were delayed.
	Dropped uint64
	// Overflow counts copies lost because the destination inbox was full.
	Overflow uint64
	// Duplicated counts extra copies made by the Duplicate fault.
	Duplicated uint64
	// Delayed counts copies held back by the Delay or Reorder fault; each
	// is also counted later in Delivered, Dropped or Overflow.
	Delayed uint64
	// BytesSent counts the encoded bytes of the messages accepted by Send.
	BytesSent uint64
}

// counters are the live counters behind Stats.
type counters struct {
	sent, delivered, dropped, overflow, duplicated, delayed atomic.Uint64
	bytesSent                                               atomic.Uint64
}

// Stats returns the network's counters. Each counter is read atomically,
// but not all of them together: while traffic flows, the snapshot may show
// a message in one counter and not yet in another.
func (n *Network) Stats() Stats {
	return Stats{
		Sent:       n.stats.sent.Load(),
		Delivered:  n.stats.delivered.Load(),
		Dropped:    n.stats.dropped.Load(),
		Overflow:   n.stats.overflow.Load(),
		Duplicated: n.stats.duplicated.Load(),
		Delayed:    n.stats.delayed.Load(),
		BytesSent:  n.stats.bytesSent.Load(),
	}
}
