package tcp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"github.com/chainrep/chain"
)

// clientPrefix starts every generated client address.
const clientPrefix = "client-"

// clientIDLen is the number of random bytes in a client address.
const clientIDLen = 16

// newClientAddr returns a fresh client address: "client-" followed by 32
// lowercase hex digits of randomness.
func newClientAddr() string {
	var b [clientIDLen]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return clientPrefix + hex.EncodeToString(b[:])
}

// IsClientAddr reports whether addr has the form of a client endpoint's
// generated address. Such an address cannot be dialed: messages to it go
// back over a connection the client opened. No dialable address has this
// form, which is how a peer's hello is told to be a client's.
func IsClientAddr(addr string) bool {
	id, ok := strings.CutPrefix(addr, clientPrefix)
	if !ok || len(id) != 2*clientIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkPeerAddr checks that addr is usable as a peer's address: a client
// address or a host:port. It returns an error wrapping
// chain.ErrInvalidArgument otherwise.
func checkPeerAddr(addr string) error {
	if IsClientAddr(addr) {
		return nil
	}
	if len(addr) > maxAddrLen {
		return fmt.Errorf("%w: address of %d bytes", chain.ErrInvalidArgument, len(addr))
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: address %q: %v", chain.ErrInvalidArgument, addr, err)
	}
	return nil
}

// advertisedAddr returns the address a listening endpoint reports: the
// address it was asked to listen on, with a zero port replaced by the port
// the listener bound.
func advertisedAddr(requested string, bound net.Addr) string {
	host, port, err := net.SplitHostPort(requested)
	if err != nil || port != "0" {
		return requested
	}
	if tcp, ok := bound.(*net.TCPAddr); ok {
		return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
	}
	return requested
}
