package replica

import (
	"slices"
	"testing"
)

// setOf is an InFlightSet over a map.
type setOf map[CommandID]bool

func (s setOf) Claim(id CommandID) bool {
	if s[id] {
		return false
	}
	s[id] = true
	return true
}

func (s setOf) Release(id CommandID) { delete(s, id) }

func (s setOf) Start(CommandID) {}

func (s setOf) Starting(ClientID) (bool, int) { return false, 0 }

func TestDecideOrder(t *testing.T) {
	c := ClientID{Addr: "c", Session: 9}
	id := func(seq uint64) CommandID { return CommandID{Client: c, Seq: seq} }
	tests := []struct {
		name     string
		inFlight []uint64          // commands in the log, not applied
		applied  map[uint64]string // in the table with an outcome
		acked    uint64            // the client's acknowledged mark in the table
		batch    []uint64
		want     []WriteAction
		answers  []string // outcomes of the Answer decisions, in order
		claimed  []uint64 // the in-flight set afterwards
		// unknownSession sends the batch under a session the table lacks.
		unknownSession bool
	}{
		{name: "new commands are ordered", batch: []uint64{1, 2, 3},
			want: []WriteAction{Order, Order, Order}, claimed: []uint64{1, 2, 3}},
		{name: "a retry of a command in flight is dropped", inFlight: []uint64{1}, batch: []uint64{1, 2},
			want: []WriteAction{InFlight, Order}, claimed: []uint64{1, 2}},
		{name: "a command twice in one batch is ordered once", batch: []uint64{4, 4},
			want: []WriteAction{Order, InFlight}, claimed: []uint64{4}},
		{name: "a retry of an applied command is answered with its outcome",
			applied: map[uint64]string{1: "one"}, batch: []uint64{1, 2},
			want: []WriteAction{Answer, Order}, answers: []string{"one"}, claimed: []uint64{2}},
		{name: "a retry below the acknowledged mark is answered (expired)", applied: map[uint64]string{5: "five"},
			acked: 5, batch: []uint64{3},
			want: []WriteAction{Answer}, answers: []string{""}, claimed: nil},
		{name: "the first command of a session is ordered",
			batch: []uint64{1}, unknownSession: true, want: []WriteAction{Order}, claimed: []uint64{1}},
		{name: "a command beyond its session's window is refused",
			applied: map[uint64]string{1: "one"}, acked: 1, batch: []uint64{11},
			want: []WriteAction{Answer}, answers: []string{""}, claimed: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := NewSessions[string](Limits{Window: 10, MaxSessions: 10, Expiry: 10})
			for seq, out := range tt.applied {
				table.Apply(id(seq), Write{Acked: tt.acked})
				table.Record(id(seq), out)
			}
			set := setOf{}
			for _, seq := range tt.inFlight {
				set[id(seq)] = true
			}
			var ids []CommandID
			for _, seq := range tt.batch {
				cid := id(seq)
				if tt.unknownSession {
					cid.Client.Session = 10
				}
				ids = append(ids, cid)
			}
			got := DecideOrder(nil, ids, make([]Write, len(ids)), set, table)
			var actions []WriteAction
			var answers []string
			for _, d := range got {
				actions = append(actions, d.Action)
				if d.Action == Answer {
					answers = append(answers, d.Outcome)
				}
			}
			if !slices.Equal(actions, tt.want) || !slices.Equal(answers, tt.answers) {
				t.Fatalf("actions %v answers %q, want %v %q", actions, answers, tt.want, tt.answers)
			}
			var claimed []uint64
			for cid := range set {
				if tt.unknownSession && cid.Client.Session != 10 {
					t.Fatalf("claimed %v", cid)
				}
				claimed = append(claimed, cid.Seq)
			}
			slices.Sort(claimed)
			if !slices.Equal(claimed, tt.claimed) {
				t.Fatalf("in flight afterwards %v, want %v", claimed, tt.claimed)
			}
		})
	}
}

// startSet is an InFlightSet that counts the sessions its commands start.
type startSet struct {
	setOf
	starting map[ClientID]int
}

func (s *startSet) Start(id CommandID) { s.starting[id.Client]++ }

func (s *startSet) Starting(c ClientID) (bool, int) { return s.starting[c] > 0, len(s.starting) }

// TestDecideOrderCountsStartingSessions: the sessions that commands in
// flight start count toward the table's bound, so a burst of new sessions
// the head has not yet applied cannot pass it; a second command of a
// starting session is not refused.
func TestDecideOrderCountsStartingSessions(t *testing.T) {
	table := NewSessions[string](Limits{Window: 10, MaxSessions: 2, Expiry: 1 << 40})
	set := &startSet{setOf: setOf{}, starting: map[ClientID]int{}}
	a, b, c := ClientID{Addr: "a", Session: 1}, ClientID{Addr: "b", Session: 1}, ClientID{Addr: "c", Session: 1}
	ids := []CommandID{{Client: a, Seq: 1}, {Client: b, Seq: 1}, {Client: c, Seq: 1}, {Client: a, Seq: 2}}
	ws := []Write{{Acked: 1}, {Acked: 1}, {Acked: 1}, {Acked: 1}}
	got := DecideOrder(nil, ids, ws, set, table)
	var actions []WriteAction
	for _, d := range got {
		actions = append(actions, d.Action)
	}
	if want := []WriteAction{Order, Order, Answer, Order}; !slices.Equal(actions, want) {
		t.Fatalf("actions %v, want %v", actions, want)
	}
	if got[2].Verdict != Full {
		t.Fatalf("c: verdict %v, want Full", got[2].Verdict)
	}
	if set.setOf[CommandID{Client: c, Seq: 1}] || set.starting[a] != 1 || set.starting[b] != 1 {
		t.Fatalf("in flight %v, starting %v", set.setOf, set.starting)
	}
}
