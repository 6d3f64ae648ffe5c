package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chainrep/chain/wire"
)

// ErrRefused is wrapped by the errors of Authorize.
var ErrRefused = errors.New("refused")

// anyRole is every role: what a client may send, anyone may.
var anyRole = allRoles

// replicas are the roles that run chain replicas: nodes, and servers for
// the replicas they host.
var replicas = []Role{RoleNode, RoleServer}

// senders is the policy table: the roles that may send each kind of
// message. A kind missing from it is allowed from nobody (an envelope is
// unwrapped by the transport, and what it carries is checked instead).
var senders = map[wire.MessageKind][]Role{
	// Clients' traffic, and the questions anyone may ask.
	wire.KindClientRequest:  anyRole,
	wire.KindRequestBatch:   anyRole,
	wire.KindConfigRequest:  anyRole,
	wire.KindClusterRequest: anyRole,
	// Answers to clients come from the replicas.
	wire.KindClientResponse: replicas,
	wire.KindResponseBatch:  replicas,
	// Replication between neighbours.
	wire.KindPullRequest:  replicas,
	wire.KindPullResponse: replicas,
	wire.KindCommitNotice: replicas,
	// Liveness reports, bound to their sender (see Authorize).
	wire.KindHeartbeat:  replicas,
	wire.KindServerBeat: {RoleServer},
	// Configuration and layouts come from masters only.
	wire.KindConfigUpdate:  {RoleMaster},
	wire.KindServerUpdate:  {RoleMaster},
	wire.KindClusterUpdate: {RoleMaster},
	wire.KindAdminResponse: {RoleMaster},
	// Membership changes come from operators only.
	wire.KindAdminRequest: {RoleAdmin},
}

// Allowed reports whether a peer of role may send messages of kind: the
// policy table, without the checks of a message's fields.
func Allowed(kind wire.MessageKind, role Role) bool {
	return role != "" && slices.Contains(senders[kind], role)
}

// Authorize decides whether a receiver may act on msg from the peer with
// the verified identity peer. A nil peer (a transport that authenticates
// nothing) is allowed everything. Otherwise msg's kind must be Allowed
// for peer's role, and a liveness report must be the sender's own:
//
//   - a node's Heartbeat names the node's id and one of its addresses;
//   - a server's Heartbeat (from a replica it hosts) names a replica of
//     that server (id "SERVER/CHAIN") at one of its addresses
//     ("HOST:PORT/CHAIN");
//   - a ServerBeat names the server's id and one of its addresses.
//
// Which neighbour a replication message comes from is the receiver's
// check: it compares the sender's address, which the transport verified
// against the certificate, with its configuration. Authorize returns nil
// or an error wrapping ErrRefused that says why, in one line.
func Authorize(msg wire.Message, peer *Identity) error {
	if peer == nil {
		return nil
	}
	if msg == nil {
		return fmt.Errorf("%w: no message", ErrRefused)
	}
	kind := msg.Kind()
	if !Allowed(kind, peer.Role) {
		return fmt.Errorf("%w: %s may not send %s", ErrRefused, describe(peer), kindName(kind))
	}
	switch m := msg.(type) {
	case *wire.Heartbeat:
		return ownHeartbeat(m, peer)
	case *wire.ServerBeat:
		if m.ID != peer.Name || !peer.HasAddr(m.Addr) {
			return fmt.Errorf("%w: server beat for %s at %s from %s", ErrRefused, m.ID, m.Addr, describe(peer))
		}
	}
	return nil
}

// ownHeartbeat checks that hb reports on its sender (see Authorize).
func ownHeartbeat(hb *wire.Heartbeat, peer *Identity) error {
	ok := false
	switch peer.Role {
	case RoleNode:
		ok = hb.ID == peer.Name && peer.HasAddr(hb.Addr)
	case RoleServer:
		srv, _, hasChain := strings.Cut(hb.ID, "/")
		base, _, hasSub := strings.Cut(hb.Addr, "/")
		ok = hasChain && hasSub && srv == peer.Name && peer.HasAddr(base)
	}
	if !ok {
		return fmt.Errorf("%w: heartbeat for %s at %s from %s", ErrRefused, hb.ID, hb.Addr, describe(peer))
	}
	return nil
}

// describe names a peer in a refusal.
func describe(peer *Identity) string {
	if peer.Role == "" {
		return "a certificate with no chain role"
	}
	return URI(peer.Role, peer.Name).String()
}

// kindName names a message kind in a refusal.
func kindName(k wire.MessageKind) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("message kind %d", k)
}

var kindNames = map[wire.MessageKind]string{
	wire.KindClientRequest:  "ClientRequest",
	wire.KindClientResponse: "ClientResponse",
	wire.KindPullRequest:    "PullRequest",
	wire.KindPullResponse:   "PullResponse",
	wire.KindCommitNotice:   "CommitNotice",
	wire.KindHeartbeat:      "Heartbeat",
	wire.KindConfigRequest:  "ConfigRequest",
	wire.KindConfigUpdate:   "ConfigUpdate",
	wire.KindAdminRequest:   "AdminRequest",
	wire.KindAdminResponse:  "AdminResponse",
	wire.KindEnvelope:       "Envelope",
	wire.KindServerBeat:     "ServerBeat",
	wire.KindServerUpdate:   "ServerUpdate",
	wire.KindClusterRequest: "ClusterRequest",
	wire.KindClusterUpdate:  "ClusterUpdate",
	wire.KindRequestBatch:   "RequestBatch",
	wire.KindResponseBatch:  "ResponseBatch",
}
