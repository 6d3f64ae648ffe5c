package chaintest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/partition"
	"github.com/chainrep/chain/server"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// PartitionedOptions configure StartPartitioned.
type PartitionedOptions struct {
	// Masters is the size of the master group; default 1.
	Masters int
	// Servers is the number of servers started; default Replicas.
	Servers int
	// Chains and Replicas are the shape of the cluster: Chains chains
	// (default 1) of Replicas replicas (default 3).
	Chains   int
	Replicas int
	// Seed seeds the network's faults; zero picks one from the clock. It
	// is logged so a run can be replayed.
	Seed int64
	// FailureTimeout is the masters' failure timeout; default 200ms.
	FailureTimeout time.Duration
	// Setup registers the handlers of each replica's node.
	Setup func(r wire.Replica, n *chain.Node) error
	// NodeOptions are added to every replica's options.
	NodeOptions []chain.NodeOption
	// ClientOptions are added to the options of every chain's client.
	ClientOptions []chain.ClientOption
}

// Partitioned is a partitioned cluster on one in-memory network: a master
// group that manages many chains and the servers that host their
// replicas, "s1", "s2", ... at addresses "server1", "server2", ... It
// closes everything in t.Cleanup.
type Partitioned struct {
	t     testing.TB
	opts  PartitionedOptions
	seed  int64
	net   *inmem.Network
	group *masterGroup

	mu      sync.Mutex
	servers []*server.Server // by index; nil while killed
	clients []*partition.Client
}

// StartPartitioned starts a master group and the servers, and waits until
// every chain is placed and running; it fails the test on error.
func StartPartitioned(t testing.TB, opts PartitionedOptions) *Partitioned {
	t.Helper()
	if opts.Masters <= 0 {
		opts.Masters = 1
	}
	if opts.Chains <= 0 {
		opts.Chains = 1
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 3
	}
	if opts.Servers <= 0 {
		opts.Servers = opts.Replicas
	}
	if opts.FailureTimeout <= 0 {
		opts.FailureTimeout = 200 * time.Millisecond
	}
	seed := opts.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("chaintest: seed %d (replay with PartitionedOptions.Seed)", seed)
	p := &Partitioned{t: t, opts: opts, seed: seed, net: inmem.New(inmem.Options{Seed: seed})}
	t.Cleanup(p.close)
	g, err := startMasterGroup(p.net, opts.Masters, func() master.Options {
		return master.Options{Chains: opts.Chains, Replicas: opts.Replicas, FailureTimeout: opts.FailureTimeout}
	})
	p.group = g
	if err != nil {
		t.Fatalf("chaintest: seed %d: %v", seed, err)
	}
	for range opts.Servers {
		p.AddServer()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitPlaced(ctx); err != nil {
		t.Fatalf("chaintest: seed %d: %v", seed, err)
	}
	return p
}

// Seed returns the seed of the network's faults.
func (p *Partitioned) Seed() int64 { return p.seed }

// Network returns the in-memory network, to inject faults.
func (p *Partitioned) Network() *inmem.Network { return p.net }

// MasterAddrs returns the masters' addresses by index.
func (p *Partitioned) MasterAddrs() []string { return append([]string(nil), p.group.addrs...) }

// Master returns the master that leads, or else the first running; nil
// when every master is killed. Safe for concurrent use.
func (p *Partitioned) Master() *master.Master { return p.group.current() }

// LeaderMaster returns the index of the leading master, or -1. Safe for
// concurrent use.
func (p *Partitioned) LeaderMaster() int { return p.group.leader() }

// KillMaster closes master i, as a process exit would. Safe for
// concurrent use.
func (p *Partitioned) KillMaster(i int) { p.group.kill(p.t, i) }

// PartitionMaster cuts master i off: from the nodes, servers and clients
// (its address is isolated on the network) and from the other masters
// (its raft transport is disconnected), until HealMaster. Safe for
// concurrent use.
func (p *Partitioned) PartitionMaster(i int) { p.group.partition(p.net, i) }

// HealMaster undoes PartitionMaster. Safe for concurrent use.
func (p *Partitioned) HealMaster(i int) { p.group.heal(p.net, i) }

// Layout returns the cluster's layout as the current master knows it.
// Safe for concurrent use.
func (p *Partitioned) Layout() wire.Cluster {
	if m := p.Master(); m != nil {
		return m.Cluster()
	}
	return wire.Cluster{}
}

// ServerAddr returns the address of server i.
func (p *Partitioned) ServerAddr(i int) string { return "server" + strconv.Itoa(i+1) }

// ServerID returns the id of server i.
func (p *Partitioned) ServerID(i int) string { return "s" + strconv.Itoa(i+1) }

// Servers returns the number of servers started, killed ones included.
func (p *Partitioned) Servers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.servers)
}

// Server returns server i, or nil while it is killed. Safe for
// concurrent use.
func (p *Partitioned) Server(i int) *server.Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.servers[i]
}

// AddServer starts a new server and returns its index; the masters place
// replicas on it as the load calls for.
func (p *Partitioned) AddServer() int {
	p.mu.Lock()
	i := len(p.servers)
	p.servers = append(p.servers, nil)
	p.mu.Unlock()
	p.startServer(i)
	return i
}

// KillServer closes server i and its replicas, as a process exit would
// (their in-memory logs are lost). Safe for concurrent use.
func (p *Partitioned) KillServer(i int) {
	closeSlot(p.t, &p.mu, p.servers, i, "server")
}

// RestartServer starts server i again after KillServer, with empty
// storage: the masters place replicas on it anew.
func (p *Partitioned) RestartServer(i int) {
	p.t.Helper()
	if p.Server(i) != nil {
		p.t.Fatalf("chaintest: restart server %d: it is running", i)
	}
	p.startServer(i)
}

func (p *Partitioned) startServer(i int) {
	s, err := server.Start(server.Options{
		ID:          p.ServerID(i),
		Addr:        p.ServerAddr(i),
		Transport:   p.net,
		Masters:     p.group.addrs,
		Setup:       p.opts.Setup,
		NodeOptions: p.opts.NodeOptions,
	})
	if err != nil {
		p.t.Fatalf("chaintest: seed %d: start server %d: %v", p.seed, i, err)
	}
	p.mu.Lock()
	p.servers[i] = s
	p.mu.Unlock()
}

// Client returns a new client of the cluster, closed at cleanup. Safe for
// concurrent use.
func (p *Partitioned) Client() *partition.Client {
	c, err := partition.NewClient(partition.Options{
		Transport:     p.net,
		Masters:       p.group.addrs,
		ClientOptions: p.opts.ClientOptions,
	})
	if err != nil {
		p.t.Fatalf("chaintest: partition client: %v", err)
	}
	p.mu.Lock()
	p.clients = append(p.clients, c)
	p.mu.Unlock()
	return c
}

// WaitPlaced waits until every chain of the plan exists with Replicas
// members, no joining node, and every member is running on its server at
// the chain's epoch.
func (p *Partitioned) WaitPlaced(ctx context.Context) error {
	return p.wait(ctx, func() error {
		_, err := p.placed()
		return err
	})
}

// WaitConverged waits until the cluster is placed (see WaitPlaced) and
// every member of every chain holds, has committed and has applied the
// same log.
func (p *Partitioned) WaitConverged(ctx context.Context) error {
	return p.wait(ctx, func() error {
		nodes, err := p.placed()
		if err != nil {
			return err
		}
		for id, members := range nodes {
			last := members[0].Stats().LastOffset
			for _, n := range members {
				if s := n.Stats(); s.LastOffset != last || s.CommitPoint != last || s.Applied != last {
					return fmt.Errorf("chain %s: replica %s at last %d, commit %d, applied %d; another at %d",
						id, n.ID(), s.LastOffset, s.CommitPoint, s.Applied, last)
				}
			}
		}
		return nil
	})
}

// Members returns the running nodes of chain id's members, head first
// (nil for a member not running). Safe for concurrent use.
func (p *Partitioned) Members(id string) []*chain.Node {
	ch, ok := p.Layout().Chain(id)
	if !ok {
		return nil
	}
	running := p.running()
	out := make([]*chain.Node, len(ch.Config.Members))
	for i, m := range ch.Config.Members {
		out[i] = running[m.ID]
	}
	return out
}

// running returns the running replicas' nodes by member id.
func (p *Partitioned) running() map[string]*chain.Node {
	running := map[string]*chain.Node{}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.servers {
		if s == nil {
			continue
		}
		for _, r := range s.Replicas() {
			if n := s.Node(r.Chain); n != nil {
				running[r.Member.ID] = n
			}
		}
	}
	return running
}

// wait polls cond until it returns nil or ctx is done.
func (p *Partitioned) wait(ctx context.Context, cond func() error) error {
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the chains to be placed: %w (%w)", ctx.Err(), err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// placed returns every chain's running members, or why the cluster is
// not yet placed.
func (p *Partitioned) placed() (map[string][]*chain.Node, error) {
	m := p.Master()
	if m == nil || !m.IsLeader() {
		return nil, fmt.Errorf("no leading master")
	}
	layout := m.Cluster()
	if len(layout.Chains) != p.opts.Chains {
		return nil, fmt.Errorf("%d chains of %d", len(layout.Chains), p.opts.Chains)
	}
	running := p.running()
	out := make(map[string][]*chain.Node, len(layout.Chains))
	for _, ch := range layout.Chains {
		cfg := ch.Config
		if len(cfg.Members) != p.opts.Replicas || cfg.Joining != nil {
			return nil, fmt.Errorf("chain %s: %d members, joining %v", ch.ID, len(cfg.Members), cfg.Joining)
		}
		for _, mem := range cfg.Members {
			n := running[mem.ID]
			if n == nil || n.Config().Epoch != cfg.Epoch {
				return nil, fmt.Errorf("chain %s: replica %s not running at epoch %d", ch.ID, mem.ID, cfg.Epoch)
			}
			out[ch.ID] = append(out[ch.ID], n)
		}
	}
	return out, nil
}

func (p *Partitioned) close() {
	p.mu.Lock()
	clients, servers := p.clients, p.servers
	p.clients = nil
	p.servers = make([]*server.Server, len(servers))
	p.mu.Unlock()
	for _, c := range clients {
		_ = c.Close()
	}
	for i, s := range servers {
		if s != nil {
			if err := s.Close(); err != nil {
				p.t.Errorf("chaintest: close server %d: %v", i, err)
			}
		}
	}
	p.group.close(p.t)
	_ = p.net.Close()
}
