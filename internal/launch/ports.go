package launch

import (
	"fmt"
	"math/rand/v2"
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

// FreePortRange returns the first of n consecutive loopback ports that
// are free when chosen (as FreeLocalMembers, another process may take one
// before it is listened on). It tries a bounded number of random ranges.
func FreePortRange(n int) (int, error) {
	for range 50 {
		base := 20000 + rand.IntN(40000)
		listeners := make([]net.Listener, 0, n)
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				break
			}
			listeners = append(listeners, l)
		}
		for _, l := range listeners {
			_ = l.Close()
		}
		if len(listeners) == n {
			return base, nil
		}
	}
	return 0, fmt.Errorf("find %d consecutive free ports: none found", n)
}

// LocalMembers returns n members n1..nN listening on 127.0.0.1 from port
// base on.
func LocalMembers(n, base int) []chain.Member {
	members := make([]chain.Member, n)
	for i := range members {
		members[i] = chain.Member{ID: fmt.Sprintf("n%d", i+1), Addr: fmt.Sprintf("127.0.0.1:%d", base+i)}
	}
	return members
}
