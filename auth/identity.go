package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Role is what a peer is in a chain deployment. The zero Role is a peer
// whose certificate names no role: authenticated, but allowed nothing.
type Role string

// The roles.
const (
	// RoleNode is a chain node (chain.Node run on its own address).
	RoleNode Role = "node"
	// RoleMaster is a configuration master.
	RoleMaster Role = "master"
	// RoleServer is a server of a partitioned cluster, with the replicas
	// it hosts.
	RoleServer Role = "server"
	// RoleClient is a client: it reads and writes, and asks for
	// configurations and layouts.
	RoleClient Role = "client"
	// RoleAdmin is an operator: what a client may do, and membership
	// changes (wire.AdminRequest).
	RoleAdmin Role = "admin"
)

// allRoles lists every role; read only.
var allRoles = []Role{RoleNode, RoleMaster, RoleServer, RoleClient, RoleAdmin}

// Roles returns every role.
func Roles() []Role { return slices.Clone(allRoles) }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(allRoles, r) }

// The URI schemes of the certificate's SANs (see the package
// documentation).
const (
	// Scheme is the scheme of the identity URI, chain://ROLE/NAME.
	Scheme = "chain"
	// AddrScheme is the scheme of an address URI, chain-addr://HOST:PORT.
	AddrScheme = "chain-addr"
)

// maxNameLen bounds an identity's name.
const maxNameLen = 256

// Identity is a peer's verified identity: what its certificate says.
type Identity struct {
	Role Role
	// Name is the node's or server's id, or the master's, client's or
	// admin's name.
	Name string
	// Addrs are the transport addresses (host:port) the peer may claim.
	Addrs []string
}

// String returns the identity URI, with the addresses after it:
// "chain://node/n1 [127.0.0.1:7001]"; "(no role)" for the zero Role.
func (id *Identity) String() string {
	if id == nil {
		return "(unauthenticated)"
	}
	s := "(no role)"
	if id.Role != "" {
		s = URI(id.Role, id.Name).String()
	}
	if len(id.Addrs) > 0 {
		s += " " + fmt.Sprint(id.Addrs)
	}
	return s
}

// HasAddr reports whether addr is one of the identity's addresses, compared
// whole (host and port, as spelled).
func (id *Identity) HasAddr(addr string) bool {
	return id != nil && addr != "" && slices.Contains(id.Addrs, addr)
}

// URI returns the identity URI of role and name: chain://ROLE/NAME.
func URI(role Role, name string) *url.URL {
	return &url.URL{Scheme: Scheme, Host: string(role), Path: "/" + name}
}

// AddrURI returns the address URI of addr (host:port): chain-addr://HOST:PORT.
func AddrURI(addr string) *url.URL {
	return &url.URL{Scheme: AddrScheme, Host: addr}
}

// ErrBadIdentity is wrapped by the errors of FromCertificate.
var ErrBadIdentity = errors.New("bad identity in certificate")

// FromCertificate reads the identity of a verified certificate: its
// chain:// URI SAN (at most one) and its chain-addr:// URI SANs. A
// certificate without a chain:// URI has the zero Role and no addresses.
// It returns an error wrapping ErrBadIdentity for several identity URIs,
// an unknown role, an empty or overlong name, or an address that is not
// host:port; other URI schemes are ignored.
func FromCertificate(cert *x509.Certificate) (*Identity, error) {
	id := &Identity{}
	found := false
	var addrs []string
	for _, u := range cert.URIs {
		switch u.Scheme {
		case Scheme:
			if found {
				return nil, fmt.Errorf("%w: more than one %s:// URI", ErrBadIdentity, Scheme)
			}
			found = true
			role, name, err := parseIdentityURI(u)
			if err != nil {
				return nil, err
			}
			id.Role, id.Name = role, name
		case AddrScheme:
			if u.Path != "" || u.User != nil || u.RawQuery != "" {
				return nil, fmt.Errorf("%w: address URI %q is not %s://HOST:PORT", ErrBadIdentity, u, AddrScheme)
			}
			if _, _, err := net.SplitHostPort(u.Host); err != nil {
				return nil, fmt.Errorf("%w: address URI %q: %v", ErrBadIdentity, u, err)
			}
			addrs = append(addrs, u.Host)
		}
	}
	if found {
		id.Addrs = addrs
	}
	return id, nil
}

// parseIdentityURI splits chain://ROLE/NAME.
func parseIdentityURI(u *url.URL) (Role, string, error) {
	role := Role(u.Host)
	name := strings.TrimPrefix(u.Path, "/")
	switch {
	case !role.Valid():
		return "", "", fmt.Errorf("%w: unknown role %q in %q", ErrBadIdentity, u.Host, u)
	case name == "" || len(name) > maxNameLen || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("%w: identity URI %q is not %s://ROLE/NAME", ErrBadIdentity, u, Scheme)
	}
	return role, name, nil
}
