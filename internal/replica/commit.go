package replica

// CommitState is what a node knows when it decides its commit point.
type CommitState struct {
	// Tail is set when the node is the tail of the configuration it runs
	// (a sole member included).
	Tail bool
	// CatchingUp is set while a new tail has not yet caught up with its
	// predecessor (a tail handoff): until it has, it holds less than the
	// old tail may have committed, so it commits only what it is told.
	CatchingUp bool
	// Commit is the node's commit point now.
	Commit uint64
	// Last is the highest offset the node's log holds.
	Last uint64
}

// Report is a commit point a neighbour reported: the successor's on its
// pulls and commit notices, the predecessor's on its pull responses.
type Report struct {
	Commit uint64
	// FromPredecessor is set for a predecessor's pull response; PredLast is
	// then the highest offset the predecessor held when it sent it.
	FromPredecessor bool
	PredLast        uint64
}

// CommitDecision is what DecideCommit returns.
type CommitDecision struct {
	// Commit is the node's new commit point: never below the old one, never
	// above what its log holds.
	Commit uint64
	// CaughtUp is set when a catching-up tail now holds everything its
	// predecessor held: it has every entry the old tail committed, commits
	// all it holds, and may serve.
	CaughtUp bool
}

// DecideCommit is the commit rule: the one place that decides how far a
// node has committed, given its state and what a neighbour reported (the
// zero Report when the node only appended or changed its role).
//
//   - A reported commit point counts up to what the node holds: by the
//     prefix invariant a node holds every entry its successor does, and an
//     entry a predecessor reports committed is committed here once held.
//   - A tail (not catching up) commits everything it holds: each entry it
//     holds is held by every member before it.
//   - A catching-up tail commits all it holds once it holds everything its
//     predecessor held when the predecessor answered (CaughtUp).
//
// The commit point never moves backward (invariant 3).
func DecideCommit(s CommitState, r Report) CommitDecision {
	d := CommitDecision{Commit: max(s.Commit, min(r.Commit, s.Last))}
	switch {
	case s.Tail && !s.CatchingUp:
		d.Commit = max(d.Commit, s.Last)
	case s.Tail && r.FromPredecessor && s.Last >= r.PredLast:
		d.CaughtUp = true
		d.Commit = max(d.Commit, s.Last)
	}
	return d
}
