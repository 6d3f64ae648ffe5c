package replica

import "testing"

func TestPuller(t *testing.T) {
	type step struct {
		name     string
		event    string // "pull", "took", "timeout"
		last     uint64 // for "pull"
		want     Pull   // for "pull"
		answers  uint64 // a response start checked after the step
		answered bool
	}
	steps := []step{
		{name: "the first pull starts the stream", event: "pull", last: 9,
			want: Pull{Run: 7, Next: 10, Restart: true, MaxBytes: 64}, answers: 10, answered: true},
		{name: "a response from another offset is not the answer", event: "pull", last: 9,
			want: Pull{Run: 7, Next: 10, Restart: true, MaxBytes: 64}, answers: 4},
		{name: "after a response is taken the stream goes on", event: "took", answers: 10, answered: true},
		{name: "the next pull acknowledges and continues", event: "pull", last: 15,
			want: Pull{Run: 7, Next: 16, MaxBytes: 64}, answers: 10},
		{name: "a timeout asks for the stream again", event: "timeout", answers: 16, answered: true},
		{name: "the pull after a timeout restarts", event: "pull", last: 15,
			want: Pull{Run: 7, Next: 16, Restart: true, MaxBytes: 64}, answers: 16, answered: true},
	}
	p := NewPuller(7)
	for _, st := range steps {
		switch st.event {
		case "pull":
			if got := p.Pull(st.last, 64); got != st.want {
				t.Fatalf("%s: Pull = %+v, want %+v", st.name, got, st.want)
			}
		case "took":
			p.Took()
		case "timeout":
			p.TimedOut()
		}
		if got := p.Answers(st.answers); got != st.answered {
			t.Fatalf("%s: Answers(%d) = %v, want %v", st.name, st.answers, got, st.answered)
		}
	}
}
