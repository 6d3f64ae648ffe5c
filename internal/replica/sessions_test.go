package replica

import (
	"fmt"
	"testing"
)

func TestSessions(t *testing.T) {
	a := ClientID{Addr: "a", Session: 1}
	b := ClientID{Addr: "b", Session: 1}
	c := ClientID{Addr: "c", Session: 1}
	a2 := ClientID{Addr: "a", Session: 2} // the same address, another client run
	cmd := func(cl ClientID, seq uint64) CommandID { return CommandID{Client: cl, Seq: seq} }
	// Times are in seconds here, as is the Expiry.
	type step struct {
		name    string
		peek    bool // Peek instead of Apply (then Record on Unknown)
		id      CommandID
		w       Write // Time in seconds here
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
				{name: "peek of the retry", peek: true, id: cmd(a, 1), verdict: Duplicate, out: "r1"},
				{name: "next", id: cmd(a, 2), w: Write{Acked: 1}, verdict: Unknown, out: "r2"},
			}},
		{name: "an acknowledged command is expired, never applied again", limits: big, sessions: 1,
			steps: []step{
				{name: "first", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "r1"},
				{name: "acks 1", id: cmd(a, 2), w: Write{Acked: 2}, verdict: Unknown, out: "r2"},
				{name: "late copy of 1", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Expired},
				{name: "peek of 1", peek: true, id: cmd(a, 1), verdict: Expired},
				{name: "2 is kept", peek: true, id: cmd(a, 2), verdict: Duplicate, out: "r2"},
			}},
		{name: "peek of an unknown session is unknown and changes nothing", limits: big, sessions: 0,
			steps: []step{{name: "peek", peek: true, id: cmd(b, 1), verdict: Unknown}}},
		{name: "sessions of one address are told apart", limits: big, sessions: 2,
			steps: []step{
				{name: "a1", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "a1"},
				{name: "a2's command 1 is its own", id: cmd(a2, 1), w: Write{Acked: 1}, verdict: Unknown, out: "a2"},
				{name: "a1 retry", peek: true, id: cmd(a, 1), verdict: Duplicate, out: "a1"},
			}},
		// Defect 6: a command that waits while many others of its client
		// finish is still new; no outcome above the mark is forgotten.
		{name: "every outcome above the mark is kept; beyond the window a command waits", limits: Limits{Window: 3, MaxSessions: 10}, sessions: 1,
			steps: []step{
				{name: "2 (1 still waits)", id: cmd(a, 2), w: Write{Acked: 1}, verdict: Unknown, out: "r2"},
				{name: "3", id: cmd(a, 3), w: Write{Acked: 1}, verdict: Unknown, out: "r3"},
				{name: "4 is beyond mark 1 + window 3", id: cmd(a, 4), w: Write{Acked: 1}, verdict: Beyond},
				{name: "4 is not recorded", peek: true, id: cmd(a, 4), verdict: Beyond},
				{name: "1, the waiting one, is still new", id: cmd(a, 1), w: Write{Acked: 1}, verdict: Unknown, out: "r1"},
				{name: "2 kept", peek: true, id: cmd(a, 2), verdict: Duplicate, out: "r2"},
				{name: "4 again, the mark past 3", id: cmd(a, 4), w: Write{Acked: 4}, verdict: Unknown, out: "r4"},
				{name: "3 acknowledged", peek: true, id: cmd(a, 3), verdict: Expired},
			}},
		// Defect 5: new sessions cannot push out one in use; only a
		// session idle past the expiry makes room, and it never returns.
		{name: "a full table refuses new sessions while its sessions are in use", limits: two, sessions: 2,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 1}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Since: 5, Time: 2}, verdict: Unknown, out: "b1"},
				{name: "c at 3s", id: cmd(c, 1), w: Write{Acked: 1, Since: 6, Time: 3}, verdict: Full},
				{name: "c is not recorded", peek: true, id: cmd(c, 1), verdict: Unknown},
				{name: "a at 8s", id: cmd(a, 2), w: Write{Acked: 1, Since: 5, Time: 8}, verdict: Unknown, out: "a2"},
				{name: "c at 12s: b idle 9s (used at 2s, the clock moved at 3s)", id: cmd(c, 1), w: Write{Acked: 1, Since: 6, Time: 12}, verdict: Full},
				{name: "c at 14s: b idle 11s, forgotten", id: cmd(c, 1), w: Write{Acked: 1, Since: 6, Time: 14}, verdict: Unknown, out: "c1"},
				{name: "b's retry: its session is gone", id: cmd(b, 1), w: Write{Acked: 1, Since: 5, Time: 15}, verdict: NoSession},
				{name: "b's new command: gone too", id: cmd(b, 2), w: Write{Acked: 2, Since: 5, Time: 15}, verdict: NoSession},
				{name: "a is kept", peek: true, id: cmd(a, 2), verdict: Duplicate, out: "a2"},
			}},
		{name: "a forgotten session never starts again; its client's next session does", limits: two, sessions: 2,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 1}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Since: 7, Time: 2}, verdict: Unknown, out: "b1"},
				{name: "c forgets a", id: cmd(c, 1), w: Write{Acked: 1, Since: 9, Time: 20}, verdict: Unknown, out: "c1"},
				{name: "a's retry, with room made", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 40}, verdict: NoSession},
				{name: "b is kept: nothing needed its place", peek: true, id: cmd(b, 1), verdict: Duplicate, out: "b1"},
				{name: "a's retry once there is room", id: cmd(a, 1), w: Write{Acked: 1, Since: 5, Time: 41}, verdict: NoSession},
				{name: "a's client starts a new session", id: cmd(a2, 2), w: Write{Acked: 2, Since: 9, Time: 41}, verdict: Unknown, out: "a2"},
			}},
		{name: "a session is idle from the first clock move after its last command", limits: two, sessions: 2,
			steps: []step{
				{name: "a", id: cmd(a, 1), w: Write{Acked: 1, Time: 1}, verdict: Unknown, out: "a1"},
				{name: "b", id: cmd(b, 1), w: Write{Acked: 1, Time: 2}, verdict: Unknown, out: "b1"},
				{name: "c at 3s", id: cmd(c, 1), w: Write{Acked: 1, Time: 3}, verdict: Full},
				{name: "a again, with a stale stamp", id: cmd(a, 2), w: Write{Acked: 1, Time: 0}, verdict: Unknown, out: "a2"},
				{name: "c at 13s: b idle 10s, a idle 0s", id: cmd(c, 1), w: Write{Acked: 1, Time: 13}, verdict: Full},
				{name: "c at 14s: b idle 11s, forgotten", id: cmd(c, 1), w: Write{Acked: 1, Time: 14}, verdict: Unknown, out: "c1"},
				{name: "a is kept", peek: true, id: cmd(a, 2), verdict: Duplicate, out: "a2"},
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
				var out string
				var v Verdict
				if st.peek {
					out, v = s.Peek(st.id)
				} else {
					out, v = s.Apply(st.id, st.w)
				}
				if v != st.verdict {
					t.Fatalf("%s: verdict %v, want %v", st.name, v, st.verdict)
				}
				switch {
				case v == Unknown && !st.peek:
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
			s.Apply(CommandID{Client: ClientID{Addr: fmt.Sprint("burst", next), Session: 1}, Seq: 1},
				Write{Acked: 1, Since: uint64(now) + 2, Time: now})
		}
		if s.Len() > 16 {
			t.Fatalf("%d sessions, beyond the bound", s.Len())
		}
		if _, v := s.Peek(CommandID{Client: live, Seq: seq}); v != Duplicate {
			t.Fatalf("after the burst at %d, the live command's retry meets %v", now, v)
		}
	}
}
