package inmem

// link is a directed pair of addresses.
type link struct{ from, to string }

// linkState is the set of cut links. It is guarded by Network.mu.
type linkState struct {
	cut      map[link]struct{}
	isolated map[string]struct{}
}

func newLinkState() linkState {
	return linkState{cut: make(map[link]struct{}), isolated: make(map[string]struct{})}
}

// blocked reports whether messages from from to to are dropped.
func (s *linkState) blocked(from, to string) bool {
	if _, ok := s.isolated[from]; ok {
		return true
	}
	if _, ok := s.isolated[to]; ok {
		return true
	}
	_, ok := s.cut[link{from, to}]
	return ok
}

// Partition cuts the links between every address in a and every address in
// b, in both directions, until Heal. The addresses need not be open yet.
// Partitions accumulate: each call adds cuts to those already in place.
func (n *Network) Partition(a, b []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			n.links.cut[link{x, y}] = struct{}{}
			n.links.cut[link{y, x}] = struct{}{}
		}
	}
}

// PartitionOneWay cuts the links from every address in from to every
// address in to, until Heal. Messages in the other direction still flow.
func (n *Network) PartitionOneWay(from, to []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range from {
		for _, y := range to {
			n.links.cut[link{x, y}] = struct{}{}
		}
	}
}

// Isolate drops every message sent to or from addr, until Heal.
func (n *Network) Isolate(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.links.isolated[addr] = struct{}{}
}

// Reconnect ends the isolation of addr; other partitions stay.
func (n *Network) Reconnect(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.links.isolated, addr)
}

// Heal removes every partition and isolation. Messages dropped while they
// were in place stay lost; faults set with SetFaults are unaffected.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.links.cut)
	clear(n.links.isolated)
}
