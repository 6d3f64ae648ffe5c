// Package auth names who a peer is and decides what it may send.
//
// # Identities
//
// Under TLS every peer presents a certificate, and the certificate says
// what the peer is in URI subject alternative names (SANs):
//
//   - exactly one identity URI, chain://ROLE/NAME, where ROLE is node,
//     master, server, client or admin, and NAME is the node's id (node),
//     the server's id (server), or a name of the operator's choosing
//     (master, client, admin): chain://node/n1, chain://master/m1,
//     chain://server/s1, chain://admin/ops;
//   - one address URI, chain-addr://HOST:PORT, for each transport address
//     the peer listens on and may claim: chain-addr://10.0.0.5:7001. The
//     address is compared whole, host and port, with the address the peer
//     claims (or is dialled at) and with the addresses the configuration
//     names, so it must be spelled as they spell it. Clients and admins,
//     which listen on nothing, have none.
//
// FromCertificate reads an Identity from a verified certificate. A
// certificate without an identity URI yields the zero Role: the peer is
// authenticated but has no role, and Authorize refuses it everything.
//
// # Policy
//
// Authorize is the whole policy: given a message and the verified identity
// of its sender, it says whether the receiver may act on it (see
// Allowed for the table of kinds and roles, and Authorize for the checks
// that bind a message's fields to its sender). A nil identity means the
// transport authenticates nothing (the in-memory transport, TCP without
// TLS): everything is allowed, as before identities existed, and such a
// transport must only be used where every peer that can reach it is
// trusted (loopback, tests).
package auth
