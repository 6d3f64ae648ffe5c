package wire

// Op is the operation a ClientRequest asks for.
type Op uint8

// The client operations.
const (
	// OpAppend writes Data as a raw log entry (no handler).
	OpAppend Op = 1
	// OpCommand writes a command for the handler named Name.
	OpCommand Op = 2
	// OpQuery runs the query handler named Name against the tail's state.
	OpQuery Op = 3
	// OpRead reads committed entries from From, at most Max of them.
	OpRead Op = 4
	// OpLatest asks for the commit point.
	OpLatest Op = 5
	// OpStatus asks any node for its NodeStatus.
	OpStatus Op = 6
)

// ClientRequest is sent by a client: writes to the head, everything else to
// the tail.
type ClientRequest struct {
	Op Op `codec:"op"`
	// ID matches the response to the request. For writes it is also the
	// command's sequence number, used for de-duplication: a retry keeps it.
	ID uint64 `codec:"id"`
	// Session is the client's random identity, drawn at its creation (see
	// Entry.Session).
	Session uint64 `codec:"ss,omitempty"`
	// Acked is the client's low-water mark: every write with a lower ID has
	// been answered.
	Acked uint64 `codec:"ak,omitempty"`
	// Epoch is the configuration epoch the client knows, or 0.
	Epoch uint64 `codec:"ep,omitempty"`
	Name  string `codec:"n,omitempty"`
	Data  []byte `codec:"d,omitempty"`
	From  uint64 `codec:"f,omitempty"`
	Max   int    `codec:"mx,omitempty"`
	// Since is, for a write, the commit point the client learned before
	// its session's first write, the same in all of the session's writes
	// (see Entry.Since).
	Since uint64 `codec:"si,omitempty"`
}

// Kind implements Message.
func (*ClientRequest) Kind() MessageKind { return KindClientRequest }

// ClientResponse answers a ClientRequest. Write responses come from the tail
// once the command is committed and applied; refusals come from the node
// that refused.
type ClientResponse struct {
	ID uint64 `codec:"id"`
	// Err is nil on success.
	Err *RemoteError `codec:"er,omitempty"`
	// Offset is the written entry's offset (writes), or the commit point
	// (OpLatest and OpRead).
	Offset uint64 `codec:"o,omitempty"`
	// Result is the handler's result (commands and queries).
	Result []byte `codec:"r,omitempty"`
	// Entries are the entries read (OpRead).
	Entries []Entry `codec:"es,omitempty"`
	// Status is the node's status (OpStatus).
	Status *NodeStatus `codec:"st,omitempty"`
}

// Kind implements Message.
func (*ClientResponse) Kind() MessageKind { return KindClientResponse }

// RequestBatch carries several client requests to one node in one message:
// a client with many requests in flight sends them together. The node takes
// each request as if it had come alone, and answers each on its own or in a
// ResponseBatch.
type RequestBatch struct {
	Requests []ClientRequest `codec:"rq"`
}

// Kind implements Message.
func (*RequestBatch) Kind() MessageKind { return KindRequestBatch }

// ResponseBatch carries several responses to one client in one message: the
// tail answers the commands of one applied batch together.
type ResponseBatch struct {
	Responses []ClientResponse `codec:"rs"`
}

// Kind implements Message.
func (*ResponseBatch) Kind() MessageKind { return KindResponseBatch }

// NodeStatus is what a node reports about itself over the wire.
type NodeStatus struct {
	ID             string   `codec:"id"`
	Role           Role     `codec:"role"`
	Epoch          uint64   `codec:"epoch"`
	Members        []Member `codec:"members"`
	FirstOffset    uint64   `codec:"first"`
	LastOffset     uint64   `codec:"last"`
	CommitPoint    uint64   `codec:"commit"`
	Applied        uint64   `codec:"applied"`
	SuccessorAcked uint64   `codec:"sacked"`
	InflightBytes  int64    `codec:"inflight"`
	PendingWrites  int      `codec:"pending"`
	Sessions       int      `codec:"sessions"`
	Ordered        uint64   `codec:"ordered"`
	Received       uint64   `codec:"received"`
	Sent           uint64   `codec:"sent"`
	Replies        uint64   `codec:"replies"`
	Queries        uint64   `codec:"queries"`
	Refused        uint64   `codec:"refused"`
	// Err is why the node stopped serving; empty while it serves.
	Err string `codec:"err,omitempty"`
	// Links is the health of the node's replication links, as its
	// heartbeats report it (nil from a node that predates it).
	Links *LinkHealth `codec:"lk,omitempty"`
}
