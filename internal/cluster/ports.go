package cluster

import (
	"fmt"
	"net"

	"github.com/chainrep/chain"
)

// FreeLocalMembers returns n members n1..nN on free loopback ports, for
// tests and local runs. The ports are free when chosen; another process
// may take one before it is listened on.
func FreeLocalMembers(n int) ([]chain.Member, error) {
	members := make([]chain.Member, n)
	listeners := make([]net.Listener, n)
	defer func() {
		for _, l := range listeners {
			if l != nil {
				_ = l.Close()
			}
		}
	}()
	for i := range members {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners[i] = l
		members[i] = chain.Member{ID: fmt.Sprintf("n%d", i+1), Addr: l.Addr().String()}
	}
	return members, nil
}
