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
	// acknowledged mark); it is answered now with what the de-duplication
	// table holds.
	Answer
)

// OrderDecision is the ordering step's decision on one write.
type OrderDecision[O any] struct {
	Action  WriteAction
	Outcome O       // with Answer: what the table holds
	Verdict Verdict // with Answer: Duplicate or Expired
}

// InFlightSet is the head's set of commands in its log and not yet applied.
type InFlightSet interface {
	// Claim adds the command and reports whether it was absent.
	Claim(CommandID) bool
	// Release removes the command.
	Release(CommandID)
}

// DecideOrder is the head's ordering step: for each queued write of a batch
// (ids, in queue order), whether it is a new command to order, a retry of a
// command in flight to drop, or a retry of an applied command to answer
// now. Each command appears in the log once: a command is ordered only when
// it is neither in flight (nor ordered earlier in the same batch) nor
// applied or expired in the de-duplication table. The table's other
// verdicts are left to the applier, which decides them on the entry: a
// session not yet in the head's table may be registered by an entry the
// head has not applied, and the entry's acknowledged mark may take a
// command within its session's window. The commands it orders are left claimed in
// inFlight; the applier releases them once applied.
//
// The caller must keep the table from changing during the step (the
// applier records and releases under the same lock). The decisions are
// appended to dst[:0].
func DecideOrder[O any](dst []OrderDecision[O], ids []CommandID, inFlight InFlightSet, table *Sessions[O]) []OrderDecision[O] {
	dst = dst[:0]
	for _, id := range ids {
		if !inFlight.Claim(id) {
			dst = append(dst, OrderDecision[O]{Action: InFlight})
			continue
		}
		if o, v := table.Peek(id); v == Duplicate || v == Expired {
			inFlight.Release(id)
			dst = append(dst, OrderDecision[O]{Action: Answer, Outcome: o, Verdict: v})
			continue
		}
		dst = append(dst, OrderDecision[O]{Action: Order})
	}
	return dst
}
