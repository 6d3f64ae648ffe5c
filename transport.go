package chain

import (
	"context"
	"time"
)

// Transport connects nodes to each other and clients to nodes. It carries
// Messages between endpoints named by address.
//
// Delivery is best effort, as on a network: a message may be lost,
// duplicated, delayed or reordered, and the protocol recovers from each by
// retrying and by de-duplicating. A transport may batch, pipeline and
// multiplex messages as it likes, and must not deliver a message that was
// not sent.
type Transport interface {
	// Listen opens the endpoint at addr and starts receiving messages sent
	// to it. An empty addr opens a client endpoint with a unique generated
	// address that need not be reachable by dialing: messages to it travel
	// back over the connections it opened. Listen fails if addr is in use.
	Listen(addr string) (Endpoint, error)
}

// Endpoint is one open address of a Transport.
type Endpoint interface {
	// Addr returns the endpoint's address, which peers use to reply.
	Addr() string
	// Send queues msg for delivery to the endpoint at addr. It may block
	// while the transport applies backpressure, at most until ctx is done.
	// A nil error means the message was queued, not that it arrived. The
	// caller must not modify msg after Send returns.
	Send(ctx context.Context, to string, msg Message) error
	// Receive returns the channel on which incoming messages arrive. It is
	// closed after Close.
	Receive() <-chan Inbound
	// Close stops the endpoint. Messages queued to it are discarded.
	Close() error
}

// Inbound is a received message and the address of its sender.
type Inbound struct {
	From string
	Msg  Message
}

// Message is one of the wire messages: *ClientRequest, *ClientResponse,
// *RequestBatch, *ResponseBatch, *PullRequest, *PullResponse,
// *CommitNotice, and the master's *Heartbeat, *ConfigRequest,
// *ConfigUpdate, *AdminRequest and *AdminResponse.
type Message interface {
	// Kind returns the message's type tag, used by the wire codec.
	Kind() MessageKind
}

// MessageKind tags the type of a Message on the wire.
type MessageKind uint8

// The message kinds. The values are part of the wire format.
const (
	KindClientRequest  MessageKind = 1
	KindClientResponse MessageKind = 2
	KindPullRequest    MessageKind = 3
	KindPullResponse   MessageKind = 4
	KindCommitNotice   MessageKind = 5
	KindHeartbeat      MessageKind = 6
	KindConfigRequest  MessageKind = 7
	KindConfigUpdate   MessageKind = 8
	KindAdminRequest   MessageKind = 9
	KindAdminResponse  MessageKind = 10
	KindEnvelope       MessageKind = 11
	KindServerBeat     MessageKind = 12
	KindServerUpdate   MessageKind = 13
	KindClusterRequest MessageKind = 14
	KindClusterUpdate  MessageKind = 15
	KindRequestBatch   MessageKind = 16
	KindResponseBatch  MessageKind = 17
)

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
}

// Kind implements Message.
func (*ClientResponse) Kind() MessageKind { return KindClientResponse }

// PullRequest is sent by a node to its predecessor: "stream me entries from
// Next". The predecessor sends batches as entries arrive, up to a few
// responses ahead of the last pull it received; the successor sends a pull
// for every response it takes, which acknowledges every entry below Next,
// reports the sender's commit point (how the commit point flows up the
// chain) and lets the stream go on.
type PullRequest struct {
	Epoch uint64 `codec:"ep"`
	// Session identifies one run of the successor's puller, so the
	// predecessor can tell a reordered old pull from a restarted puller.
	Session uint64 `codec:"s"`
	Next    uint64 `codec:"n"`
	Commit  uint64 `codec:"c"`
	// MaxBytes bounds the size of the response's entries.
	MaxBytes int `codec:"mb,omitempty"`
	// Restart asks the predecessor to stream from Next again, discarding
	// what it sent beyond: the successor started, or missed a response.
	// Without it the pull only acknowledges the entries below Next and
	// reports the commit point, and the stream goes on.
	Restart bool `codec:"rs,omitempty"`
}

// Kind implements Message.
func (*PullRequest) Kind() MessageKind { return KindPullRequest }

// PullResponse answers a PullRequest with the entries from From on (none when
// the predecessor has nothing new before its poll interval ends) and the
// predecessor's commit point.
type PullResponse struct {
	Epoch  uint64 `codec:"ep"`
	From   uint64 `codec:"f"`
	Commit uint64 `codec:"c"`
	// Last is the predecessor's last offset when it answered.
	Last    uint64  `codec:"l"`
	Entries []Entry `codec:"es,omitempty"`
	// Err is set when the predecessor cannot serve From (for example, it
	// no longer holds those entries).
	Err *RemoteError `codec:"er,omitempty"`
}

// Kind implements Message.
func (*PullResponse) Kind() MessageKind { return KindPullResponse }

// CommitNotice tells a node's predecessor that its commit point advanced
// while no pull was due.
type CommitNotice struct {
	Epoch  uint64 `codec:"ep"`
	Commit uint64 `codec:"c"`
}

// Kind implements Message.
func (*CommitNotice) Kind() MessageKind { return KindCommitNotice }

// Heartbeat is sent by a node to the master at a fixed interval: it says
// the node is alive and how far its log goes.
type Heartbeat struct {
	// Chain names the node's chain when the master manages many ("" for
	// the default chain).
	Chain  string `codec:"ch,omitempty"`
	ID     string `codec:"id"`
	Addr   string `codec:"addr"`
	Epoch  uint64 `codec:"ep"`
	Last   uint64 `codec:"l"`
	Commit uint64 `codec:"c"`
	// Complete reports that the node serves as head, middle or tail at
	// Epoch and holds every entry its chain has committed: it is not a
	// new tail still catching up with its predecessor (the tail handoff).
	// The master promotes no further node, and removes no member that
	// would leave the chain without a complete one, until the new tail
	// reports it.
	Complete bool `codec:"ok"`
}

// Kind implements Message.
func (*Heartbeat) Kind() MessageKind { return KindHeartbeat }

// ConfigRequest asks the master for the current configuration.
type ConfigRequest struct {
	ID    uint64 `codec:"id"`
	Chain string `codec:"ch,omitempty"` // "" for the default chain
}

// Kind implements Message.
func (*ConfigRequest) Kind() MessageKind { return KindConfigRequest }

// ConfigUpdate is the master's current configuration: the reply to a
// heartbeat or a ConfigRequest.
type ConfigUpdate struct {
	ID     uint64 `codec:"id,omitempty"`
	Chain  string `codec:"ch,omitempty"` // the chain Config belongs to
	Config Config `codec:"cfg"`
	// FenceAfter is how long a node may go without hearing from the master
	// before it stops serving: half the master's failure timeout, so a node
	// the master is about to replace has stopped first.
	FenceAfter time.Duration `codec:"fence"`
	// HeartbeatEvery is the interval at which nodes send heartbeats.
	HeartbeatEvery time.Duration `codec:"hb"`
	// Leader is the chain-transport address of the master group's leader,
	// when the replying master knows it ("" when it does not).
	Leader string `codec:"ld,omitempty"`
	// Follower is set when the replying master is not the leader of its
	// group: its configuration is committed, so it may be adopted, but it
	// does not vouch for the node's liveness, so it renews no contact (the
	// node fences itself unless it reaches the leader) and the node should
	// heartbeat to Leader instead.
	Follower bool `codec:"fol,omitempty"`
}

// Kind implements Message.
func (*ConfigUpdate) Kind() MessageKind { return KindConfigUpdate }

// AdminOp is a change an AdminRequest asks the master for.
type AdminOp uint8

// The administrative operations.
const (
	// AdminAddNode adds Member: it joins behind the tail, catches up and
	// becomes the tail.
	AdminAddNode AdminOp = 1
	// AdminRemoveNode removes the member with Member.ID from the chain.
	AdminRemoveNode AdminOp = 2
	// AdminAddMaster adds a master to the group of masters: Member.ID is
	// its address (as nodes reach it), Member.Addr its raft address.
	AdminAddMaster AdminOp = 3
	// AdminRemoveMaster removes the master whose address is Member.ID
	// from the group.
	AdminRemoveMaster AdminOp = 4
)

// AdminRequest asks the master to change the chain's membership.
type AdminRequest struct {
	ID     uint64  `codec:"id"`
	Op     AdminOp `codec:"op"`
	Chain  string  `codec:"ch,omitempty"` // the chain to change; "" for the default chain
	Member Member  `codec:"m"`
}

// Kind implements Message.
func (*AdminRequest) Kind() MessageKind { return KindAdminRequest }

// AdminResponse answers an AdminRequest with the configuration after it.
type AdminResponse struct {
	ID     uint64       `codec:"id"`
	Config Config       `codec:"cfg"`
	Err    *RemoteError `codec:"er,omitempty"`
}

// Kind implements Message.
func (*AdminResponse) Kind() MessageKind { return KindAdminResponse }
