package replica

import (
	"fmt"
	"testing"
)

func TestSessions(t *testing.T) {
	a := ClientID{Addr: "a", Session: 1}
	b := ClientID{Addr: "b", Session: 1}
	c := ClientID{Addr: "c", Session: 1}
	d := ClientID{Addr: "d", Session: 1}
	a2 := ClientID{Addr: "a", Session: 2} // the same address, another client run
	cmd := func(cl ClientID, seq uint64) CommandID { return CommandID{Client: cl, Seq: seq} }
	// Times are in seconds here, as is the Expiry. A step submits a write
	// as the head and applier do: Peek, and Apply if Peek finds nothing
	// (then Record on Unknown); "peek" only peeks, "apply" only applies (an
	// entry no head checked).
	type step struct {
		name    string
		op      string // "" (submit), "peek" or "apply"
		id      CommandID
		w       Write
		verdict Verdict
		out     string // the outcome returned (Duplicate) or recorded (Unknown)
	}
	big := Limits{Window: 10, MaxSessions: 10, Expiry: 10}
	two := Limits{Window: 10, MaxSessions: 2, Expiry: 10}
	tests := []struct {
		name     string
		limits   Limits
		steps    []step
		sessions int
	}{
		{name: "a retry gets the first outcome; a new command is unknown", limits: big, sessions: 1,
			steps: []step{
				{name: "first", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "r1"},
				{name: "retry", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Duplicate, out: "r1"},
				{name: "retry in the log twice", op: "apply", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Duplicate, out: "r1"},
				{name: "next", id: cmd(a, 2), w: Write{Acked: 1}, verdict: Unknown, out: "r2"},
			}},
		{name: "an acknowledged command is expired, never applied again", limits: big, sessions: 1,
			steps: []step{
				{name: "first", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "r1"},
				{name: "acks 1", id: cmd(a, 2), w: Write{Acked: 2}, verdict: Unknown, out: "r2"},
				{name: "late copy of 1", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Expired},
				{name: "late copy of 1 in the log", op: "apply", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Expired},
				{name: "2 is kept", op: "peek", id: cmd(a, 2), verdict: Duplicate, out: "r2"},
			}},
		{name: "peek of an unknown session changes nothing", limits: big, sessions: 0,
			steps: []step{{name: "peek", op: "peek", id: cmd(b, 1), verdict: Unknown}}},
		{name: "sessions of one address are told apart", limits: big, sessions: 2,
			steps: []step{
				{name: "a1", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "a1"},
				{name: "a2's command 1 is its own", id: cmd(a2, 1), w: Write{Acked: 1}, verdict: Unknown, out: "a2"},
				{name: "a1 retry", op: "peek", id: cmd(a, 1), verdict: Duplicate, out: "a1"},
			}},
		// Defect 6: a command that waits while many others of its client
		// finish is still new; no outcome above the mark is forgotten.
		{name: "every outcome above the mark is kept; beyond the window a command waits", limits: Limits{Window: 3, MaxSessions: 10}, sessions: 1,
			steps: []step{
				{name: "2 (1 still waits)", id: cmd(a, 2), w: Write{Acked: 1}, verdict: Unknown, out: "r2"},
				{name: "3", id: cmd(a, 3), w: Write{Acked: 1}, verdict: Unknown, out: "r3"},
				{name: "4 is beyond mark 1 + window 3", id: cmd(a, 4), w: Write{Acked: 1}, verdict: Beyond},
				{name: "an entry no head checked is not applied either", op: "apply", id: cmd(a, 4), w: Write{Acked: 1}, verdict: Beyond},
				{name: "1, the waiting one, is still new", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "r1"},
				{name: "2 kept", op: "peek", id: cmd(a, 2), w: Write{Acked: 1}, verdict: Duplicate, out: "r2"},
				{name: "4 again, its mark past 3", id: cmd(a, 4), w: Write{Acked: 4}, verdict: Unknown, out: "r4"},
				{name: "3 acknowledged", op: "peek", id: cmd(a, 3), verdict: Expired},
				{name: "a new session's command beyond its own mark", id: cmd(b, 9), w: Write{Acked: 2}, verdict: Beyond},
			}},
		// Defect 5: new sessions cannot push out one in use; only a
		// session idle past the expiry makes room, and it never returns.
		{name: "a full table refuses new sessions while its sessions are in use", limits: two, sessions: 3,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 1}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Since: 5, Time: 2}, verdict: Unknown, out: "b1"},
				{name: "a at 3s", id: cmd(a, 2), w: Write{Acked: 1, Since: 5, Time: 3}, verdict: Unknown, out: "a2"},
				{name: "c at 5s", id: cmd(c, 1), w: Write{Acked: 1, Since: 6, Time: 5}, verdict: Full},
				{name: "c at 12s: b idle 10s", id: cmd(c, 1), w: Write{Acked: 1, Since: 6, Time: 12}, verdict: Full},
				{name: "c at 13s: b idle 11s, forgotten", id: cmd(c, 1), w: Write{Acked: 1, Since: 6, Time: 13}, verdict: Unknown, out: "c1"},
				{name: "d, in the log unchecked, starts past the bound rather than forget a", op: "apply", id: cmd(d, 1), w: Write{Acked: 1, Since: 7, Time: 13}, verdict: Unknown, out: "d1"},
				{name: "b's retry: its session is gone", id: cmd(b, 1), w: Write{Acked: 1, Since: 5, Time: 14}, verdict: NoSession},
				{name: "b's retry in the log", op: "apply", id: cmd(b, 1), w: Write{Acked: 1, Since: 5, Time: 14}, verdict: NoSession},
				{name: "b's new command: gone too", id: cmd(b, 2), w: Write{Acked: 2, Since: 5, Time: 14}, verdict: NoSession},
				{name: "a is kept", op: "peek", id: cmd(a, 2), verdict: Duplicate, out: "a2"},
			}},
		{name: "a forgotten session never starts again; its client's next session does", limits: two, sessions: 2,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 1}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Since: 7, Time: 2}, verdict: Unknown, out: "b1"},
				{name: "c forgets a", id: cmd(c, 1), w: Write{Acked: 1, Since: 9, Time: 20}, verdict: Unknown, out: "c1"},
				{name: "a's retry", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 40}, verdict: NoSession},
				{name: "b is kept: nothing needed its place", op: "peek", id: cmd(b, 1), verdict: Duplicate, out: "b1"},
				{name: "a's client starts a new session, forgetting b", id: cmd(a2, 2), w: Write{Acked: 2, Since: 9, Time: 41}, verdict: Unknown, out: "a2"},
				{name: "a's retry still", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 42}, verdict: NoSession},
			}},
		{name: "a command with a stale stamp counts as use at the table's clock", limits: two, sessions: 2,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Time: 1}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Time: 2}, verdict: Unknown, out: "b1"},
				{name: "a again, with a stale stamp", id: cmd(a, 2), w: Write{Acked: 1, Time: 0}, verdict: Unknown, out: "a2"},
				{name: "c at 12s: b and a idle 10s", id: cmd(c, 1), w: Write{Acked: 1, Time: 12}, verdict: Full},
				{name: "c at 13s: b, idle longest, forgotten", id: cmd(c, 1), w: Write{Acked: 1, Time: 13}, verdict: Unknown, out: "c1"},
				{name: "a is kept", op: "peek", id: cmd(a, 2), verdict: Duplicate, out: "a2"},
				{name: "b gone", id: cmd(b, 2), w: Write{Acked: 1, Time: 14}, verdict: NoSession},
			}},
		{name: "the clock never runs back", limits: two, sessions: 2,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Time: 20}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Time: 21}, verdict: Unknown, out: "b1"},
				{name: "c from a head with a slow clock", id: cmd(c, 1), w: Write{Acked: 1, Time: 0}, verdict: Full},
				{name: "c at 32s", id: cmd(c, 1), w: Write{Acked: 1, Time: 32}, verdict: Unknown, out: "c1"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSessions[string](tt.limits)
			for _, st := range tt.steps {
				out, v := s.Peek(st.id, st.w, 0)
				if st.op == "apply" || st.op == "" && v == Unknown {
					out, v = s.Apply(st.id, st.w)
				}
				if v != st.verdict {
					t.Fatalf("%s: verdict %v, want %v", st.name, v, st.verdict)
				}
				switch {
				case v == Unknown && st.op != "peek":
					s.Record(st.id, st.out)
				case v == Duplicate && out != st.out:
					t.Fatalf("%s: outcome %q, want %q", st.name, out, st.out)
				}
			}
			if s.Len() != tt.sessions {
				t.Fatalf("Len = %d, want %d", s.Len(), tt.sessions)
			}
		})
	}
}

// TestSessionsBurstNeverForgetsASessionInUse starts many one-command
// sessions while one client keeps using its own, as the clock runs a
// hundred expiries: the table stays bounded, and the client's retries
// always meet their outcomes.
func TestSessionsBurstNeverForgetsASessionInUse(t *testing.T) {
	s := NewSessions[string](Limits{Window: 8, MaxSessions: 16, Expiry: 10})
	live := ClientID{Addr: "live", Session: 1}
	next := uint64(0)
	for now := range int64(1000) {
		seq := uint64(now + 1)
		if _, v := s.Apply(CommandID{Client: live, Seq: seq}, Write{Acked: seq, Since: 1, Time: now}); v != Unknown {
			t.Fatalf("live command %d: %v", seq, v)
		}
		s.Record(CommandID{Client: live, Seq: seq}, fmt.Sprint(seq))
		for range 5 {
			next++
			id := CommandID{Client: ClientID{Addr: fmt.Sprint("burst", next), Session: 1}, Seq: 1}
			w := Write{Acked: 1, Since: uint64(now) + 2, Time: now}
			if _, v := s.Peek(id, w, 0); v == Unknown {
				s.Apply(id, w)
			}
		}
		if s.Len() > 16 {
			t.Fatalf("%d sessions, beyond the bound", s.Len())
		}
		if _, v := s.Peek(CommandID{Client: live, Seq: seq}, Write{}, 0); v != Duplicate {
			t.Fatalf("after the burst at %d, the live command's retry meets %v", now, v)
		}
	}
}
