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
}

// Size is the number of bytes the entry counts for in batch and flow-control
// limits: its payload, names and a fixed overhead for the numeric fields.
func (e *Entry) Size() int {
	return len(e.Data) + len(e.Command) + len(e.Client) + EntryOverhead
}

// EntryOverhead approximates the encoded size of an entry's numeric fields;
// size estimates of requests and results count it too.
const EntryOverhead = 32
