package chain

// Stats is a snapshot of a node's state and counters.
type Stats struct {
	ID          string
	Role        Role
	Epoch       uint64
	FirstOffset uint64
	LastOffset  uint64
	CommitPoint uint64
	// Applied is the offset through which committed entries are applied.
	Applied uint64
	// SuccessorAcked is the highest offset the successor has acknowledged
	// holding (with its pulls); entries above it up to LastOffset are sent
	// but unacknowledged, or not yet sent.
	SuccessorAcked uint64
	// InflightBytes is, at the head, the bytes of entries ordered but not
	// yet known to be committed.
	InflightBytes int64
	// PendingWrites is the number of writes queued at the head.
	PendingWrites int
	// Sessions is the number of clients with de-duplication records.
	Sessions int
	// Counters since start.
	Ordered  uint64 // entries ordered (head)
	Received uint64 // entries received from the predecessor
	Sent     uint64 // entries sent to the successor
	Replies  uint64 // replies sent to clients (tail)
	Queries  uint64 // queries answered (tail)
	Refused  uint64 // client requests refused
	// Unauthorized counts messages refused because their sender's
	// verified identity may not send them (see package auth).
	Unauthorized uint64
	// OverQuota counts client requests refused because their sender had
	// too many queued already (WithMaxPendingPerClient); also in Refused.
	OverQuota uint64
	// Err is why the node stopped serving; nil while it serves.
	Err error
	// Links is the health of the node's replication links, as its
	// heartbeats report it.
	Links LinkHealth
}

// Stats returns a snapshot of the node's state. It may be called at any
// time, from any goroutine, handlers included.
func (n *Node) Stats() Stats {
	cfg := n.cfg.Load()
	s := Stats{
		ID:             n.id,
		Role:           cfg.role,
		Epoch:          cfg.Epoch,
		Applied:        n.applied.get(),
		InflightBytes:  n.inflightBytes.Load(),
		SuccessorAcked: n.successorAcked.of(cfg.succ),
		PendingWrites:  len(n.writes),
		Sessions:       int(n.sessionCount.Load()),
		Ordered:        n.counters.ordered.Load(),
		Received:       n.counters.received.Load(),
		Sent:           n.counters.pullsSent.Load(),
		Replies:        n.counters.replies.Load(),
		Queries:        n.counters.queries.Load(),
		Refused:        n.counters.refused.Load(),
		Unauthorized:   n.guard.Refused(),
		OverQuota:      n.quota.Refused(),
		Err:            n.lifecycle.err(),
		Links:          n.linkHealth(cfg),
	}
	if n.log != nil {
		s.FirstOffset, s.LastOffset, s.CommitPoint, _ = n.log.state()
	}
	return s
}

// status converts a Stats snapshot for the wire.
func (n *Node) status() *NodeStatus {
	s := n.Stats()
	st := &NodeStatus{
		ID: s.ID, Role: s.Role, Epoch: s.Epoch, Members: n.cfg.Load().Clone().Members,
		FirstOffset: s.FirstOffset, LastOffset: s.LastOffset, CommitPoint: s.CommitPoint,
		Applied: s.Applied, SuccessorAcked: s.SuccessorAcked, InflightBytes: s.InflightBytes,
		PendingWrites: s.PendingWrites, Sessions: s.Sessions, Ordered: s.Ordered,
		Received: s.Received, Sent: s.Sent, Replies: s.Replies, Queries: s.Queries, Refused: s.Refused,
	}
	if s.Err != nil {
		st.Err = s.Err.Error()
	}
	st.Links = &s.Links
	return st
}
