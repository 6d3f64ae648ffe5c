package wire

import (
	"hash/crc32"
	"time"
)

// Slots is the number of slots a partitioned cluster hashes keys into.
// Each slot belongs to exactly one chain; a chain serves a contiguous
// range of slots.
const Slots = 1024

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SlotOf returns the slot of key: its CRC-32C modulo Slots. Every client
// and every release computes the same slot for the same key.
func SlotOf(key []byte) uint32 { return crc32.Checksum(key, castagnoli) % Slots }

// ChainInfo is one chain of a partitioned cluster: its id, its current
// configuration, and the slots [SlotLo, SlotHi) whose keys it serves.
type ChainInfo struct {
	ID     string `codec:"id"`
	Config Config `codec:"cfg"`
	SlotLo uint32 `codec:"lo"`
	SlotHi uint32 `codec:"hi"`
}

// ServerInfo is one server of a partitioned cluster as the master sees
// it: a process that hosts replicas of many chains at one address.
type ServerInfo struct {
	ID   string `codec:"id"`
	Addr string `codec:"addr"`
	// Alive reports that the server was heard from within the master's
	// failure timeout.
	Alive bool `codec:"ok"`
	// Replicas is the number of replicas placed on it.
	Replicas int `codec:"n"`
}

// Cluster is the layout of a partitioned cluster: its chains, in slot
// order, and its servers, by id.
type Cluster struct {
	Chains  []ChainInfo  `codec:"chains"`
	Servers []ServerInfo `codec:"servers"`
}

// ChainOf returns the chain that serves slot, and false if none does (a
// cluster without chains).
func (c Cluster) ChainOf(slot uint32) (ChainInfo, bool) {
	for _, ch := range c.Chains {
		if slot >= ch.SlotLo && slot < ch.SlotHi {
			return ch, true
		}
	}
	return ChainInfo{}, false
}

// Chain returns the chain with the given id, and false if there is none.
func (c Cluster) Chain(id string) (ChainInfo, bool) {
	for _, ch := range c.Chains {
		if ch.ID == id {
			return ch, true
		}
	}
	return ChainInfo{}, false
}

// ReplicaAddr returns the address of the replica of chain on the server
// at serverAddr: the server's address, a slash, and the chain id. A
// server's transport (see transport/mux) delivers messages so addressed
// to that replica.
func ReplicaAddr(serverAddr, chain string) string { return serverAddr + "/" + chain }

// ServerBeat is sent by a server to the master at a fixed interval: it
// says the server is alive and where it listens.
type ServerBeat struct {
	ID   string `codec:"id"`
	Addr string `codec:"addr"`
	// Incarnation is chosen at random when the server process starts.
	Incarnation uint64 `codec:"inc"`
	// Volatile reports that the server's replicas keep their logs in
	// memory: a new incarnation has lost them, so the master takes its
	// replicas out of their chains and lets them rejoin as new nodes.
	Volatile bool `codec:"vol,omitempty"`
}

// Kind implements Message.
func (*ServerBeat) Kind() MessageKind { return KindServerBeat }

// Replica is one replica a server hosts: a node of Chain.
type Replica struct {
	Chain  string `codec:"ch"`
	Member Member `codec:"m"`
}

// ServerUpdate is the master's reply to a ServerBeat: the replicas the
// server must host. A server starts the replicas it does not run yet and
// stops those no longer listed.
type ServerUpdate struct {
	Replicas []Replica `codec:"rs"`
	// HeartbeatEvery is the interval at which the server sends beats.
	HeartbeatEvery time.Duration `codec:"hb"`
	// Leader and Follower are as in ConfigUpdate. A follower's list is
	// not acted on: only the leader places replicas.
	Leader   string `codec:"ld,omitempty"`
	Follower bool   `codec:"fol,omitempty"`
}

// Kind implements Message.
func (*ServerUpdate) Kind() MessageKind { return KindServerUpdate }

// ClusterRequest asks the master for the cluster's layout.
type ClusterRequest struct {
	ID uint64 `codec:"id"`
}

// Kind implements Message.
func (*ClusterRequest) Kind() MessageKind { return KindClusterRequest }

// ClusterUpdate answers a ClusterRequest with the cluster's layout and the
// master group.
type ClusterUpdate struct {
	ID      uint64  `codec:"id"`
	Cluster Cluster `codec:"cl"`
	// Masters lists the masters of the group by the address nodes reach
	// them at; Leader is the leader's ("" when unknown).
	Masters  []string `codec:"ms,omitempty"`
	Leader   string   `codec:"ld,omitempty"`
	Follower bool     `codec:"fol,omitempty"`
}

// Kind implements Message.
func (*ClusterUpdate) Kind() MessageKind { return KindClusterUpdate }
