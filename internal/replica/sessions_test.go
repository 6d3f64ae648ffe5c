package replica

import "testing"

func TestSessions(t *testing.T) {
	a := ClientID{Addr: "a", Session: 1}
	b := ClientID{Addr: "b", Session: 1}
	a2 := ClientID{Addr: "a", Session: 2} // the same address, another client run
	cmd := func(c ClientID, seq uint64) CommandID { return CommandID{Client: c, Seq: seq} }
	type step struct {
		name    string
		op      string // "apply" (then record when the verdict is Unknown) or "peek"
		id      CommandID
		acked   uint64
		verdict Verdict
		out     string // the outcome returned (for Duplicate) or recorded (for Unknown)
	}
	tests := []struct {
		name                   string
		maxClients, maxResults int
		steps                  []step
		clients                int
	}{
		{name: "a retry gets the first outcome; a new command is unknown", maxClients: 10, maxResults: 10, clients: 1,
			steps: []step{
				{name: "first", op: "apply", id: cmd(a, 1), acked: 1, verdict: Unknown, out: "r1"},
				{name: "retry", op: "apply", id: cmd(a, 1), acked: 1, verdict: Duplicate, out: "r1"},
				{name: "peek of the retry", op: "peek", id: cmd(a, 1), verdict: Duplicate, out: "r1"},
				{name: "next", op: "apply", id: cmd(a, 2), acked: 1, verdict: Unknown, out: "r2"},
			}},
		{name: "an acknowledged command is expired, never applied again", maxClients: 10, maxResults: 10, clients: 1,
			steps: []step{
				{name: "first", op: "apply", id: cmd(a, 1), acked: 1, verdict: Unknown, out: "r1"},
				{name: "acks 1", op: "apply", id: cmd(a, 2), acked: 2, verdict: Unknown, out: "r2"},
				{name: "late copy of 1", op: "apply", id: cmd(a, 1), acked: 1, verdict: Expired},
				{name: "peek of 1", op: "peek", id: cmd(a, 1), verdict: Expired},
				{name: "2 is kept", op: "peek", id: cmd(a, 2), verdict: Duplicate, out: "r2"},
			}},
		{name: "peek of an unknown client changes nothing", maxClients: 10, maxResults: 10, clients: 0,
			steps: []step{{name: "peek", op: "peek", id: cmd(b, 1), verdict: Unknown}}},
		{name: "clients of one address are told apart by session", maxClients: 10, maxResults: 10, clients: 2,
			steps: []step{
				{name: "a1", op: "apply", id: cmd(a, 1), acked: 1, verdict: Unknown, out: "a1"},
				{name: "a2's command 1 is its own", op: "apply", id: cmd(a2, 1), acked: 1, verdict: Unknown, out: "a2"},
				{name: "a1 retry", op: "peek", id: cmd(a, 1), verdict: Duplicate, out: "a1"},
			}},
		{name: "past maxResults the lowest outcome is forgotten and expires", maxClients: 10, maxResults: 2, clients: 1,
			steps: []step{
				{name: "1", op: "apply", id: cmd(a, 1), acked: 1, verdict: Unknown, out: "r1"},
				{name: "2", op: "apply", id: cmd(a, 2), acked: 1, verdict: Unknown, out: "r2"},
				{name: "3", op: "apply", id: cmd(a, 3), acked: 1, verdict: Unknown, out: "r3"},
				{name: "1 expired", op: "peek", id: cmd(a, 1), verdict: Expired},
				{name: "2 kept", op: "peek", id: cmd(a, 2), verdict: Duplicate, out: "r2"},
			}},
		{name: "past maxClients the least recently used client is forgotten", maxClients: 2, maxResults: 10, clients: 2,
			steps: []step{
				{name: "a", op: "apply", id: cmd(a, 1), acked: 1, verdict: Unknown, out: "a"},
				{name: "b", op: "apply", id: cmd(b, 1), acked: 1, verdict: Unknown, out: "b"},
				{name: "a used again", op: "apply", id: cmd(a, 2), acked: 1, verdict: Unknown, out: "a2"},
				{name: "a third client evicts b", op: "apply", id: cmd(a2, 1), acked: 1, verdict: Unknown, out: "x"},
				{name: "b is forgotten", op: "peek", id: cmd(b, 1), verdict: Unknown},
				{name: "a is kept", op: "peek", id: cmd(a, 1), verdict: Duplicate, out: "a"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSessions[string](tt.maxClients, tt.maxResults)
			for _, st := range tt.steps {
				var out string
				var v Verdict
				if st.op == "apply" {
					out, v = s.Apply(st.id, st.acked)
				} else {
					out, v = s.Peek(st.id)
				}
				if v != st.verdict {
					t.Fatalf("%s: verdict %v, want %v", st.name, v, st.verdict)
				}
				switch {
				case v == Unknown && st.op == "apply":
					s.Record(st.id, st.out)
				case v == Duplicate && out != st.out:
					t.Fatalf("%s: outcome %q, want %q", st.name, out, st.out)
				}
			}
			if s.Len() != tt.clients {
				t.Fatalf("Len = %d, want %d", s.Len(), tt.clients)
			}
		})
	}
}
