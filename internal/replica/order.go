package replica

// WriteAction is what the head does with one queued write.
type WriteAction int

// The head's actions on a queued write.
const (
	// Order: a new command; it gets the next offset.
	Order WriteAction = iota
	// InFlight: a retry of a command in the log and not yet applied (or
	// ordered earlier in the same batch); it is dropped, and the tail's
	// reply to the original answers it.
	InFlight
	// Answer: a retry of a command already applied (or below the client's
	// acknowledged mark), or a write the table refuses; it is answered now
	// with what the de-duplication table holds, or the refusal.
	Answer
)

// OrderDecision is the ordering step's decision on one write.
type OrderDecision[O any] struct {
	Action  WriteAction
	Outcome O       // with Answer: what the table holds
	Verdict Verdict // with Answer: the table's verdict (not Unknown)
}

// InFlightSet is the head's set of commands in its log and not yet applied.
type InFlightSet interface {
	// Claim adds the command and reports whether it was absent.
	Claim(CommandID) bool
	// Release removes the command.
	Release(CommandID)
	// Start marks the claimed command as the start of its session: the
	// table does not hold the session yet.
	Start(CommandID)
	// Starting reports whether a command in the set starts client's
	// session, and how many sessions commands in the set start.
	Starting(client ClientID) (starts bool, sessions int)
}

// DecideOrder is the head's ordering step: for each queued write of a batch
// (ids, in queue order), whether it is a new command to order, a retry of a
// command in flight to drop, or a retry of an applied command to answer
// now, or a write the table refuses (see Sessions.Peek) to answer now. Each
// command appears in the log once: a command is ordered only when it is
// neither in flight (nor ordered earlier in the same batch) nor known to
// the de-duplication table. The commands it orders are left claimed in
// inFlight, marked when they start a session, so that the sessions they
// start count toward the table's bound; the applier releases them once
// applied. ws holds, for each of
// ids, what the table's check needs of the request.
//
// The caller must keep the table from changing during the step (the
// applier records and releases under the same lock). The decisions are
// appended to dst[:0].
func DecideOrder[O any](dst []OrderDecision[O], ids []CommandID, ws []Write, inFlight InFlightSet, table *Sessions[O]) []OrderDecision[O] {
	dst = dst[:0]
	for i, id := range ids {
		if !inFlight.Claim(id) {
			dst = append(dst, OrderDecision[O]{Action: InFlight})
			continue
		}
		starts, starting := inFlight.Starting(id.Client)
		o, v := table.Peek(id, ws[i], starting)
		if v == Full && starts {
			v = Unknown // its session is starting already, and counted
		}
		if v != Unknown {
			inFlight.Release(id)
			dst = append(dst, OrderDecision[O]{Action: Answer, Outcome: o, Verdict: v})
			continue
		}
		if !starts && !table.Has(id.Client) {
			inFlight.Start(id)
		}
		dst = append(dst, OrderDecision[O]{Action: Order})
	}
	return dst
}
