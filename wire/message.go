package wire

// Message is one of the wire messages: *ClientRequest, *ClientResponse,
// *RequestBatch, *ResponseBatch, *PullRequest, *PullResponse and
// *CommitNotice between nodes and clients; *Heartbeat, *ConfigRequest,
// *ConfigUpdate, *AdminRequest and *AdminResponse with the master;
// *ServerBeat, *ServerUpdate, *ClusterRequest and *ClusterUpdate of a
// partitioned cluster; and *Envelope, which carries one of the others
// between sub-addresses.
type Message interface {
	// Kind returns the message's type tag, used by the codec.
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
