package wire

// Entry is one record of the replicated log.
type Entry struct {
	// Offset is the entry's position in the log. Offsets are dense and start at 1.
	Offset uint64 `codec:"o"`
	// Epoch is the configuration epoch in which the head ordered the entry.
	Epoch uint64 `codec:"e"`
	// Client is the address of the client that submitted the entry; the tail
	// sends the reply there. Empty for entries written by no client.
	Client string `codec:"c,omitempty"`
	// Session is a random number the client drew when it was created. With
	// Client it identifies the client for de-duplication, so a client that
	// reuses an address (after a restart, say) never meets the records of
	// an earlier one.
	Session uint64 `codec:"ss,omitempty"`
	// Seq is the client's sequence number for the command; with Client and
	// Session it identifies the command for de-duplication.
	Seq uint64 `codec:"s,omitempty"`
	// Acked is the client's low-water mark when it sent the command: every
	// command of that client with a lower Seq has been answered, so nodes may
	// forget those results.
	Acked uint64 `codec:"a,omitempty"`
	// Command names the handler that applies the entry; empty for a raw
	// append, which is a plain log entry with no handler.
	Command string `codec:"k,omitempty"`
	// Data is the command's payload or the raw appended bytes.
	Data []byte `codec:"d,omitempty"`
	// Since is the commit point the client learned before the first write
	// of its session, the same in each of the session's entries: a session
	// the chain forgot is never created again, since its Since is below
	// the table's horizon (see package chain's session table). 0 in entries
	// of writers that name none.
	Since uint64 `codec:"si,omitempty"`
	// Time is the clock of the head that ordered the entry (nanoseconds
	// since the Unix epoch), in client entries: the table of sessions
	// counts idle time by it. 0 in entries written before it existed.
	Time int64 `codec:"t,omitempty"`
}

// Size is the number of bytes the entry counts for in batch and flow-control
// limits: its payload, names and a fixed overhead for the numeric fields.
func (e *Entry) Size() int {
	return len(e.Data) + len(e.Command) + len(e.Client) + EntryOverhead
}

// EntryOverhead approximates the encoded size of an entry's numeric fields;
// size estimates of requests and results count it too.
const EntryOverhead = 32
