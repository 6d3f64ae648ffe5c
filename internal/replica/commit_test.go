package replica

import "testing"

func TestDecideCommit(t *testing.T) {
	tests := []struct {
		name string
		s    CommitState
		r    Report
		want CommitDecision
	}{
		{"head appends: nothing committed without a report",
			CommitState{Commit: 3, Last: 10}, Report{}, CommitDecision{Commit: 3}},
		{"successor's report advances a head",
			CommitState{Commit: 3, Last: 10}, Report{Commit: 7}, CommitDecision{Commit: 7}},
		{"report beyond what the node holds counts up to its last offset",
			CommitState{Commit: 3, Last: 5}, Report{Commit: 9, FromPredecessor: true, PredLast: 9}, CommitDecision{Commit: 5}},
		{"an old report never moves the commit point back",
			CommitState{Commit: 8, Last: 10}, Report{Commit: 2}, CommitDecision{Commit: 8}},
		{"a tail commits everything it holds",
			CommitState{Tail: true, Commit: 3, Last: 10}, Report{}, CommitDecision{Commit: 10}},
		{"a sole member commits what it just appended",
			CommitState{Tail: true, Commit: 0, Last: 1}, Report{}, CommitDecision{Commit: 1}},
		{"a tail with nothing new keeps its commit point",
			CommitState{Tail: true, Commit: 10, Last: 10}, Report{Commit: 4, FromPredecessor: true, PredLast: 12}, CommitDecision{Commit: 10}},
		{"a catching-up tail commits only what its predecessor reports",
			CommitState{Tail: true, CatchingUp: true, Commit: 2, Last: 6},
			Report{Commit: 4, FromPredecessor: true, PredLast: 9}, CommitDecision{Commit: 4}},
		{"a catching-up tail that holds its predecessor's last entry has caught up",
			CommitState{Tail: true, CatchingUp: true, Commit: 2, Last: 9},
			Report{Commit: 4, FromPredecessor: true, PredLast: 9}, CommitDecision{Commit: 9, CaughtUp: true}},
		{"a catching-up tail ahead of its predecessor's report has caught up",
			CommitState{Tail: true, CatchingUp: true, Commit: 2, Last: 11},
			Report{Commit: 4, FromPredecessor: true, PredLast: 9}, CommitDecision{Commit: 11, CaughtUp: true}},
		{"a catching-up tail never catches up without its predecessor's word",
			CommitState{Tail: true, CatchingUp: true, Commit: 2, Last: 9}, Report{}, CommitDecision{Commit: 2}},
		{"a catching-up tail with an empty predecessor has caught up",
			CommitState{Tail: true, CatchingUp: true}, Report{FromPredecessor: true}, CommitDecision{CaughtUp: true}},
		{"a middle node ignores its predecessor's last offset",
			CommitState{Commit: 2, Last: 9}, Report{Commit: 4, FromPredecessor: true, PredLast: 9}, CommitDecision{Commit: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideCommit(tt.s, tt.r); got != tt.want {
				t.Fatalf("DecideCommit(%+v, %+v) = %+v, want %+v", tt.s, tt.r, got, tt.want)
			}
		})
	}
}
