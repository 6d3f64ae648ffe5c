package replica

import (
	"slices"
	"testing"
)

// TestStreamWindowAcksAndRestarts walks a pull server's stream through the
// cases the link meets: a first pull, responses up to the window,
// acknowledgments, old copies of pulls, a restart after a lost response, a
// new puller run and a refusal.
func TestStreamWindowAcksAndRestarts(t *testing.T) {
	type step struct {
		name    string
		sent    []uint64 // these responses are sent first
		pull    *Pull    // then this pull is taken, when set
		stop    bool     // then the stream is stopped
		canSend bool
		next    uint64
		unacked []uint64
	}
	steps := []step{
		{name: "a first pull starts the stream", pull: &Pull{Run: 1, Next: 10, Restart: true, MaxBytes: 100},
			canSend: true, next: 10},
		{name: "responses up to the window fill it", sent: []uint64{12, 15, 15, 20},
			next: 20, unacked: []uint64{12, 15, 15, 20}},
		{name: "a pull acknowledging the first response frees one", pull: &Pull{Run: 1, Next: 12},
			canSend: true, next: 20, unacked: []uint64{15, 15, 20}},
		{name: "acknowledging through 15 frees the empty response too", pull: &Pull{Run: 1, Next: 15},
			canSend: true, next: 20, unacked: []uint64{20}},
		{name: "an old copy of a pull changes nothing", pull: &Pull{Run: 1, Next: 12},
			canSend: true, next: 20, unacked: []uint64{20}},
		{name: "an old copy asking to restart changes nothing", pull: &Pull{Run: 1, Next: 12, Restart: true},
			canSend: true, next: 20, unacked: []uint64{20}},
		{name: "a successor that missed a response asks again", pull: &Pull{Run: 1, Next: 15, Restart: true},
			canSend: true, next: 15},
		{name: "a pull from beyond what was sent restarts there", pull: &Pull{Run: 1, Next: 30},
			canSend: true, next: 30},
		{name: "a new run starts over, even lower", sent: []uint64{35}, pull: &Pull{Run: 2, Next: 5},
			canSend: true, next: 5},
		{name: "a refusal ends the stream", stop: true, next: 5},
		{name: "the next pull restarts it", pull: &Pull{Run: 2, Next: 7}, canSend: true, next: 7},
	}
	var s Stream
	if s.CanSend() {
		t.Fatal("a stream can send before any pull")
	}
	for _, st := range steps {
		for _, after := range st.sent {
			s.Sent(after)
		}
		if st.pull != nil {
			s.Take(*st.pull)
		}
		if st.stop {
			s.Stop()
		}
		if s.CanSend() != st.canSend || s.Next() != st.next || !slices.Equal(s.unacked, st.unacked) {
			t.Fatalf("%s: canSend %v next %d unacked %v, want %v %d %v",
				st.name, s.CanSend(), s.Next(), s.unacked, st.canSend, st.next, st.unacked)
		}
	}
	if got := s.MaxBytes(1000); got != 1000 {
		t.Fatalf("MaxBytes with no bound in the pull = %d, want the server's 1000", got)
	}
}

func TestStreamMaxBytes(t *testing.T) {
	tests := []struct {
		pull, limit, want int
	}{{0, 1000, 1000}, {100, 1000, 100}, {5000, 1000, 1000}}
	for _, tt := range tests {
		var s Stream
		s.Take(Pull{Run: 1, Next: 1, MaxBytes: tt.pull})
		if got := s.MaxBytes(tt.limit); got != tt.want {
			t.Errorf("pull bound %d, server bound %d: MaxBytes = %d, want %d", tt.pull, tt.limit, got, tt.want)
		}
	}
}

func TestStreamAction(t *testing.T) {
	tests := []struct {
		name        string
		next        uint64
		inFlight    int // responses sent and not acknowledged
		first, last uint64
		want        StreamAction
	}{
		{"entries to send", 5, 0, 1, 9, StreamSend},
		{"caught up: wait for the log to grow", 10, 0, 1, 9, StreamWait},
		{"next below the log's first offset: refuse", 3, 0, 5, 9, StreamRefuse},
		{"next beyond the log: refuse", 12, 0, 1, 9, StreamRefuse},
		{"empty log, successor empty too: wait", 1, 0, 1, 0, StreamWait},
		{"window full: wait even with entries", 5, StreamWindow, 1, 9, StreamWait},
		{"window full: a bad next waits for a pull too", 12, StreamWindow, 1, 9, StreamWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Stream
			s.Take(Pull{Run: 1, Next: tt.next})
			for range tt.inFlight {
				s.Sent(tt.next)
			}
			if got := s.Action(tt.first, tt.last); got != tt.want {
				t.Fatalf("Action(%d, %d) with next %d = %v, want %v", tt.first, tt.last, tt.next, got, tt.want)
			}
		})
	}
	var idle Stream
	if got := idle.Action(1, 9); got != StreamWait {
		t.Fatalf("a stream no pull started: Action = %v, want StreamWait", got)
	}
}

func TestSupersedes(t *testing.T) {
	tests := []struct {
		name           string
		later, earlier Pull
		want           bool
	}{
		{"a later pull of the run asking further on", Pull{Run: 1, Next: 9}, Pull{Run: 1, Next: 5}, true},
		{"the same pull again", Pull{Run: 1, Next: 5}, Pull{Run: 1, Next: 5}, true},
		{"an old copy arriving late", Pull{Run: 1, Next: 3}, Pull{Run: 1, Next: 5}, false},
		{"a new run, even from lower down", Pull{Run: 2, Next: 1}, Pull{Run: 1, Next: 5}, true},
	}
	for _, tt := range tests {
		if got := Supersedes(tt.later, tt.earlier); got != tt.want {
			t.Errorf("%s: Supersedes(%+v, %+v) = %v, want %v", tt.name, tt.later, tt.earlier, got, tt.want)
		}
	}
}
