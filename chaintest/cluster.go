// Package chaintest starts whole chains on the in-memory transport for
// tests: a few lines give an N-node chain (with a configuration master if
// asked, or a group of masters replicated on raft), clients, fault
// injection (partitions, drops, delays, duplicates, reordering, pauses,
// kills and restarts of nodes and masters, node additions), run-time checks
// of the chain's invariants, and linearizability checks of recorded
// histories with porcupine models for a log and a key-value store.
//
//	c := chaintest.Start(t, chaintest.Options{Nodes: 3, Master: true, Setup: func(i int, n *chain.Node) error {
//		return mystore.New().Register(n)
//	}})
//	stop := c.WatchInvariants(time.Millisecond)
//	client := c.Client()
//	c.Network().SetFaults(inmem.Faults{Delay: 0.1, Duplicate: 0.05})
//	c.Kill(0)      // the master makes node 1 the head
//	c.Restart(0)   // it rejoins behind the tail
//	c.AddNode()
//	c.Pause(1, time.Second)
//	c.KillMaster(c.LeaderMaster()) // with Options.Masters: 3, another master leads
//	...
//	stop()
package chaintest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

// Options configure a test cluster.
type Options struct {
	// Nodes is the chain length; default 3.
	Nodes int
	// Seed drives the network's fault decisions; 0 picks one from the
	// clock. The seed is logged so a failing run can be replayed.
	Seed int64
	// Setup registers the application's handlers on node i. It runs before
	// every start of the node, restarts included, so each incarnation gets
	// fresh application state (rebuilt by replaying the log).
	Setup func(i int, n *chain.Node) error
	// NodeOptions are added to every node's options.
	NodeOptions []chain.NodeOption
	// ClientOptions are added to every client's options.
	ClientOptions []chain.ClientOption
	// Master starts a configuration master (package master) at address
	// "master": nodes heartbeat to it and follow its configurations, and
	// clients learn the chain from it. Without it the configuration is
	// static.
	Master bool
	// Masters is the number of masters (Master implied when above 0);
	// default 1 with Master. A group (2 or more) is replicated on raft's
	// in-memory transport, at addresses "master", "master2", ...
	// (MasterAddrs); nodes and clients are given every address.
	Masters int
	// FailureTimeout is the master's failure timeout; default 200ms.
	FailureTimeout time.Duration
	// OpenStorage opens node i's storage. It is called at start and again
	// at every restart: Kill closes the storage, as a process exit would,
	// and Restart reopens it, so a durable storage is tested from what it
	// persisted. By default each node gets an in-memory storage that stays
	// open across kills and restarts.
	OpenStorage func(i int) (chain.Storage, error)
}

// Cluster is a chain of nodes on one in-memory network. Its methods must be
// called from the test's goroutine unless they say otherwise; it closes
// everything in t.Cleanup.
type Cluster struct {
	t    testing.TB
	opts Options
	seed int64
	net  *inmem.Network
	cfg  chain.Config // the initial configuration
	// master is the first master started: non-nil when the cluster has
	// masters, even once killed (see masters for the running ones).
	master *master.Master
	inv    *invariants
	group  *masterGroup // nil without masters

	mu      sync.Mutex
	members []chain.Member  // every node ever started, by index
	stores  []chain.Storage // nil while closed by Kill
	nodes   []*chain.Node   // nil while killed
	clients []*chain.Client
}

// Start creates and starts a cluster; it fails the test on error.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	seed := opts.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("chaintest: seed %d (replay with Options.Seed)", seed)
	c := &Cluster{
		t:      t,
		opts:   opts,
		seed:   seed,
		net:    inmem.New(inmem.Options{Seed: seed}),
		cfg:    chain.Config{Epoch: 1},
		stores: make([]chain.Storage, opts.Nodes),
		nodes:  make([]*chain.Node, opts.Nodes),
	}
	c.inv = newInvariants()
	for i := range opts.Nodes {
		id := "n" + strconv.Itoa(i+1)
		c.cfg.Members = append(c.cfg.Members, chain.Member{ID: id, Addr: id})
	}
	c.members = c.cfg.Clone().Members
	t.Cleanup(c.close)
	if opts.Masters > 0 {
		opts.Master = true
	}
	if opts.Master && opts.Masters == 0 {
		opts.Masters = 1
	}
	c.opts = opts
	if opts.Master {
		if err := c.startMasters(); err != nil {
			t.Fatalf("chaintest: seed %d: %v", seed, err)
		}
	}
	for i := range opts.Nodes {
		if err := c.startNode(i); err != nil {
			t.Fatalf("chaintest: seed %d: %v", seed, err)
		}
	}
	return c
}

// Seed returns the seed of the cluster's network faults.
func (c *Cluster) Seed() int64 { return c.seed }

// startMasters starts Options.Masters masters: a lone master, or a group
// on raft's in-memory transports, all connected, that has elected a
// leader.
func (c *Cluster) startMasters() error {
	timeout := c.opts.FailureTimeout
	if timeout == 0 {
		timeout = 200 * time.Millisecond
	}
	g, err := startMasterGroup(c.net, c.opts.Masters, func() master.Options {
		return master.Options{Config: c.cfg, FailureTimeout: timeout}
	})
	c.group = g
	if g.masters[0] != nil {
		c.master = g.masters[0]
	}
	return err
}

// MasterAddrs returns the addresses of the cluster's masters, the running
// and the killed, by index; none without Options.Master.
func (c *Cluster) MasterAddrs() []string {
	if c.group == nil {
		return nil
	}
	return append([]string(nil), c.group.addrs...)
}

// LeaderMaster returns the index of the master that leads its group, or
// -1 when none does (or more than one thinks it does, during a change of
// leader). Safe for concurrent use.
func (c *Cluster) LeaderMaster() int {
	if c.group == nil {
		return -1
	}
	return c.group.leader()
}

// KillMaster closes master i, as a process exit would (its state was in
// memory), and cuts its raft transport off the others'. In a group, the
// others elect a new leader if it led. Safe for concurrent use.
func (c *Cluster) KillMaster(i int) { c.group.kill(c.t, i) }

// Config returns the chain's current configuration: the leading master's
// (without a leader, the latest a running master has applied), or the
// static one. Safe for concurrent use.
func (c *Cluster) Config() chain.Config {
	if c.master == nil {
		return c.cfg.Clone()
	}
	if m := c.Master(); m != nil && m.IsLeader() {
		return m.Config()
	}
	masters := c.group.running()
	var cfg chain.Config
	for _, m := range masters {
		if m == nil {
			continue
		}
		if mc := m.Config(); mc.Epoch > cfg.Epoch {
			cfg = mc
		}
	}
	return cfg
}

// Master returns the cluster's master: in a group, the one that leads, or
// else the first one running; nil without Options.Master or when every
// master is killed. Safe for concurrent use.
func (c *Cluster) Master() *master.Master {
	if c.group == nil {
		return nil
	}
	return c.group.current()
}

// Nodes returns the number of nodes ever started (indices 0 to Nodes()-1).
func (c *Cluster) Nodes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// AddNode starts a new node and asks the master to add it: it joins behind
// the tail, catches up and becomes the tail. It returns the node's index.
// It needs Options.Master. Safe for concurrent use.
func (c *Cluster) AddNode() int {
	c.t.Helper()
	if c.master == nil {
		c.t.Fatalf("chaintest: AddNode needs Options.Master")
	}
	c.mu.Lock()
	i := len(c.members)
	id := "n" + strconv.Itoa(i+1)
	m := chain.Member{ID: id, Addr: id}
	c.members = append(c.members, m)
	c.stores = append(c.stores, nil)
	c.nodes = append(c.nodes, nil)
	c.mu.Unlock()
	if err := c.startNode(i); err != nil {
		c.t.Errorf("chaintest: seed %d: %v", c.seed, err)
		return i
	}
	// In a group, the leader takes it; wait out a change of leader.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := c.Master()
		if l == nil {
			c.t.Errorf("chaintest: seed %d: add %s: no master running", c.seed, id)
			return i
		}
		_, err := l.AddNode(m)
		switch {
		case err == nil:
			return i
		case errors.Is(err, master.ErrNotLeader) && time.Now().Before(deadline):
			time.Sleep(time.Millisecond)
		default:
			c.t.Errorf("chaintest: seed %d: %v", c.seed, err)
			return i
		}
	}
}

// chainOrder returns the indices of the current configuration's members in
// chain order, the joining node last.
func (c *Cluster) chainOrder() []int {
	cfg := c.Config()
	c.mu.Lock()
	defer c.mu.Unlock()
	index := make(map[string]int, len(c.members))
	for i, m := range c.members {
		index[m.ID] = i
	}
	order := make([]int, 0, len(cfg.Members)+1)
	for _, m := range cfg.Members {
		order = append(order, index[m.ID])
	}
	if cfg.Joining != nil {
		order = append(order, index[cfg.Joining.ID])
	}
	return order
}

// Network returns the in-memory network, for fault injection. Node i
// listens at Config().Members[i].Addr.
func (c *Cluster) Network() *inmem.Network { return c.net }

// Addr returns the address of node i.
func (c *Cluster) Addr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i].Addr
}

// Node returns node i, or nil while it is killed. Safe for concurrent use.
func (c *Cluster) Node(i int) *chain.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Storage returns node i's storage, or nil while Kill has closed it (with
// Options.OpenStorage). Safe for concurrent use.
func (c *Cluster) Storage(i int) chain.Storage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stores[i]
}

// Client returns a new client of the chain, closed at cleanup. It is
// given the current configuration, if any master has one (while every
// master is down, it learns the configuration from them once they are
// back). Safe for concurrent use.
func (c *Cluster) Client(opts ...chain.ClientOption) *chain.Client {
	c.t.Helper()
	all := []chain.ClientOption{chain.WithTransport(c.net)}
	if cfg := c.Config(); cfg.Validate() == nil {
		all = append(all, chain.WithConfig(cfg))
	}
	if c.master != nil {
		all = append(all, chain.WithMaster(c.group.addrs...))
	}
	all = append(all, c.opts.ClientOptions...)
	cl, err := chain.NewClient(append(all, opts...)...)
	if err != nil {
		c.t.Fatalf("chaintest: new client: %v", err)
	}
	c.mu.Lock()
	c.clients = append(c.clients, cl)
	c.mu.Unlock()
	return cl
}

// Kill stops node i, as a process exit would: with Options.OpenStorage its
// storage is closed too, otherwise the in-memory storage is kept. Safe for
// concurrent use.
func (c *Cluster) Kill(i int) {
	if !closeSlot(c.t, &c.mu, c.nodes, i, "node") || c.opts.OpenStorage == nil {
		return
	}
	closeSlot(c.t, &c.mu, c.stores, i, "storage of node")
}

// Pause cuts node i off the network for d, as a long garbage-collection
// pause or a stopped process would, then reconnects it. Messages sent to
// or from it meanwhile are lost. Longer than the master's failure timeout,
// the master replaces the node, which fences itself and later rejoins.
func (c *Cluster) Pause(i int, d time.Duration) {
	addr := c.Addr(i)
	c.net.Isolate(addr)
	time.Sleep(d)
	c.net.Reconnect(addr)
}

// openStorage returns node i's storage, opening it if needed.
func (c *Cluster) openStorage(i int) (chain.Storage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stores[i] != nil {
		return c.stores[i], nil
	}
	var st chain.Storage = memory.New()
	if c.opts.OpenStorage != nil {
		var err error
		if st, err = c.opts.OpenStorage(i); err != nil {
			return nil, fmt.Errorf("open storage of node %d: %w", i, err)
		}
	}
	c.stores[i] = st
	return st, nil
}

// Restart starts node i again on its storage after Kill; it resumes from
// its log and catches up from its predecessor. Safe for concurrent use.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Node(i) != nil {
		c.t.Fatalf("chaintest: restart node %d: it is running", i)
	}
	if err := c.startNode(i); err != nil {
		c.t.Errorf("chaintest: seed %d: %v", c.seed, err)
	}
}

func (c *Cluster) startNode(i int) error {
	c.mu.Lock()
	m := c.members[i]
	c.mu.Unlock()
	st, err := c.openStorage(i)
	if err != nil {
		return err
	}
	inc := c.inv.newIncarnation(i)
	opts := []chain.NodeOption{
		chain.WithTransport(c.net),
		chain.WithStorage(st),
		chain.WithApplyObserver(inc.observe),
	}
	if c.master != nil {
		opts = append(opts, chain.WithMaster(c.group.addrs...), chain.WithAddr(m.Addr))
		if i < len(c.cfg.Members) {
			opts = append(opts, chain.WithConfig(c.cfg))
		}
	} else {
		opts = append(opts, chain.WithConfig(c.cfg))
	}
	n, err := chain.NewNode(m.ID, append(opts, c.opts.NodeOptions...)...)
	if err != nil {
		return fmt.Errorf("new node %s: %w", m.ID, err)
	}
	if c.opts.Setup != nil {
		if err := c.opts.Setup(i, n); err != nil {
			return fmt.Errorf("set up node %s: %w", m.ID, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		return fmt.Errorf("start node %s: %w", m.ID, err)
	}
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
	return nil
}

// WaitConverged waits until every running node holds the same log, has it
// all committed and applied, or ctx ends.
func (c *Cluster) WaitConverged(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		var last uint64
		converged := true
		for _, i := range c.chainOrder() {
			n := c.Node(i)
			if n == nil {
				continue
			}
			s := n.Stats()
			if last == 0 {
				last = s.LastOffset
			}
			if s.LastOffset != last || s.CommitPoint != last || s.Applied != last {
				converged = false
			}
		}
		if converged {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("wait for convergence: %w", ctx.Err())
		}
	}
}

func (c *Cluster) close() {
	c.mu.Lock()
	clients, nodes := c.clients, append([]*chain.Node(nil), c.nodes...)
	c.clients = nil
	c.mu.Unlock()
	for _, cl := range clients {
		_ = cl.Close()
	}
	failed := make([]bool, len(nodes)) // stopped by a storage error (fail-stop)
	for i, n := range nodes {
		if n != nil {
			if err := n.Close(); err != nil {
				c.t.Errorf("chaintest: close node %d: %v", i, err)
			}
			failed[i] = !errors.Is(n.Err(), chain.ErrClosed)
		}
	}
	if c.group != nil {
		c.group.close(c.t)
	}
	_ = c.net.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, st := range c.stores {
		if st == nil {
			continue
		}
		if err := st.Close(); err != nil {
			// A failed storage may report its failure again on close.
			report := c.t.Errorf
			if failed[i] {
				report = c.t.Logf
			}
			report("chaintest: close storage of node %d: %v", i, err)
		}
	}
}
