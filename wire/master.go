package wire

import "time"

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
	// Sent is when the node sent the heartbeat, on its own monotonic clock
	// (a duration since an origin of the node's choosing, positive; 0 from
	// a node that does not stamp its heartbeats). The master echoes it in
	// its reply (ConfigUpdate.HeartbeatSent), and the node's lease runs
	// from it.
	Sent time.Duration `codec:"at,omitempty"`
	// Incarnation identifies the node's storage: a number the node draws
	// when it first starts on an empty storage and keeps in it, so a node
	// restarted on a wiped (or new, or in-memory) storage reports another
	// one. 0 from a node that does not report it. The master removes a
	// member whose incarnation changed: it lost what it had acknowledged.
	Incarnation uint64 `codec:"inc,omitempty"`
	// Config is the configuration the node runs, once the master has
	// confirmed its place in it (nil before, and from nodes that do not
	// report it): a master restarted without its state adopts the newest
	// configuration the nodes report (see package master).
	Config *Config `codec:"cfg,omitempty"`
	// Links is the health of the node's replication links at Epoch (nil
	// from a node that does not report it: the master never takes its
	// links for cut).
	Links *LinkHealth `codec:"lk,omitempty"`
	// Standby reports that a leader master told the node it is a standby
	// node of its chain (ConfigUpdate.Standby): one the master added, or a
	// removed member free to rejoin. The node keeps it on its storage. A
	// master that does not know the node (it lost its state) takes it as
	// a standby node again, unless it removed the node for good (see
	// package master).
	Standby bool `codec:"sb,omitempty"`
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
	// HeartbeatSent echoes the Sent instant of the heartbeat this update
	// answers, when the replying master is the leader and vouches for the
	// node: the node renews its lease from that instant (see
	// replica.Lease). It is 0 in a reply that vouches for nothing: to a
	// ConfigRequest, in an announcement, from a follower, to a node the
	// leader is about to remove, or from a master that predates the field
	// (a node renews nothing on such a reply).
	HeartbeatSent time.Duration `codec:"hbat,omitempty"`
	// Confirmed, in the leader's reply to a heartbeat, echoes the
	// heartbeat's Incarnation when the master confirms that the node, on
	// that storage, holds its place in Config (a member or the joining
	// node that has lost nothing it acknowledged). 0 vouches for nothing.
	// A node restarted under a master takes no place in a configuration
	// (serves nothing, commits nothing on its own) until a reply confirms
	// it.
	Confirmed uint64 `codec:"conf,omitempty"`
	// LinkTimeout is how long the link from a node's predecessor may
	// carry nothing before the node stops serving and reports the link
	// cut (LinkHealth.Cut): the master's failure timeout. A node under a
	// master also keeps its links busier than that (see
	// chain.WithPollInterval). 0 from a master that predates it: no node
	// then takes a link for cut.
	LinkTimeout time.Duration `codec:"lto,omitempty"`
	// Standby, from the leader, tells the node that the master holds it as
	// a standby node of Chain, which joins when the chain is short of its
	// target length; the leader sends it in its replies to the node's
	// heartbeats and when it adds the node. The node reports it from then
	// on (Heartbeat.Standby). false tells nothing.
	Standby bool `codec:"sb,omitempty"`
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
