package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/inmem"
)

// ChainConfig describes a chain whose nodes all run in this process, each
// running the key-value store.
type ChainConfig struct {
	// Config is the chain's initial configuration, head first; one node
	// is started for each member. InmemConfig builds one for an in-memory
	// network.
	Config chain.Config
	// Transport carries the nodes', the master's and the client's
	// messages, and stays the caller's to close. Nil means a new in-memory
	// network (transport/inmem), which the Chain owns and closes.
	Transport chain.Transport
	// MasterAddr, when not empty, starts a configuration master there,
	// with the initial configuration; the nodes and the client follow it.
	// Without it the configuration is static.
	MasterAddr string
	// FailureTimeout is the master's; zero means
	// master.DefaultFailureTimeout.
	FailureTimeout time.Duration
	// DataDir keeps each node's log on Pebble in DataDir/<id>; empty keeps
	// it in memory. Started again on the same directory, the nodes replay
	// their logs and their Stores come back with the data.
	DataDir string
	// NoSync turns off fsync on the Pebble storage (benchmarks only).
	NoSync bool
	// Logger receives the nodes' and the master's logs; nil discards them.
	Logger *slog.Logger
	// NodeOptions are added to every node's options.
	NodeOptions []chain.NodeOption
	// ClientOptions are added to the client's options.
	ClientOptions []chain.ClientOption
}

// InmemConfig returns the epoch-1 configuration of the members ids, in
// chain order, each listening at an address equal to its id (as nodes do
// on an in-memory network).
func InmemConfig(ids ...string) chain.Config {
	cfg := chain.Config{Epoch: 1}
	for _, id := range ids {
		cfg.Members = append(cfg.Members, chain.Member{ID: id, Addr: id})
	}
	return cfg
}

// Chain is a running chain of nodes in this process, with its master (if
// asked for) and a client. Nodes[i] is the node of Config.Members[i], so
// Nodes[0] started as the head and the last node as the tail. Close
// releases it all.
type Chain struct {
	Config    chain.Config
	Transport chain.Transport
	Master    *master.Master // nil without ChainConfig.MasterAddr
	Nodes     []*Node
	Client    *chain.Client // a client of the chain
	KV        *kv.Client    // the key-value client over Client

	network   *inmem.Network // the network the Chain made, or nil
	closeOnce sync.Once
	closeErr  error
}

// StartChain starts the master (if cc.MasterAddr is set), a node for each
// member of cc.Config, in chain order, and a client. On error everything
// started is closed again.
func StartChain(ctx context.Context, cc ChainConfig) (_ *Chain, err error) {
	c := &Chain{Config: cc.Config.Clone(), Transport: cc.Transport}
	if c.Transport == nil {
		c.network = inmem.New(inmem.Options{})
		c.Transport = c.network
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("start chain: %w", err), c.Close())
		}
	}()
	if err := c.Config.Validate(); err != nil {
		return nil, err
	}
	var masters []string
	if cc.MasterAddr != "" {
		m, err := master.Start(master.Options{Transport: c.Transport, Addr: cc.MasterAddr, Config: c.Config,
			FailureTimeout: cc.FailureTimeout, Logger: cc.Logger})
		if err != nil {
			return nil, fmt.Errorf("start master: %w", err)
		}
		c.Master, masters = m, []string{cc.MasterAddr}
	}
	for _, m := range c.Config.Members {
		n, err := StartNode(ctx, NodeConfig{ID: m.ID, Config: c.Config, Masters: masters, Transport: c.Transport,
			DataDir: cc.DataDir, NoSync: cc.NoSync, Logger: cc.Logger, Options: cc.NodeOptions})
		if err != nil {
			return nil, fmt.Errorf("start node %s: %w", m.ID, err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	opts := []chain.ClientOption{chain.WithTransport(c.Transport), chain.WithConfig(c.Config)}
	if len(masters) > 0 {
		opts = append(opts, chain.WithMaster(masters...))
	}
	client, err := chain.NewClient(append(opts, cc.ClientOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	c.Client, c.KV = client, kv.NewClient(client)
	return c, nil
}

// WaitConverged waits until every node has committed and applied the
// chain's commit point as of the call, which includes every write
// acknowledged before it, and returns that offset. Once it returns, every
// node's Store holds the state after that offset (and perhaps later
// writes). It gives up when ctx ends.
func (c *Chain) WaitConverged(ctx context.Context) (uint64, error) {
	latest, err := c.Client.Latest(ctx)
	if err != nil {
		return 0, fmt.Errorf("wait converged: %w", err)
	}
	for _, n := range c.Nodes {
		if err := n.WaitApplied(ctx, latest); err != nil {
			return 0, fmt.Errorf("wait converged: node %s: %w", n.ID(), err)
		}
	}
	return latest, nil
}

// Close closes the client, the nodes and their storage, the master and
// the transport if the Chain owns it, and returns every error met. It is
// safe on a partly started Chain, and later calls return the first
// call's result.
func (c *Chain) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Chain) close() error {
	var errs []error
	if c.Client != nil {
		errs = append(errs, c.Client.Close())
	}
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		errs = append(errs, c.Nodes[i].Close())
	}
	if c.Master != nil {
		errs = append(errs, c.Master.Close())
	}
	if c.network != nil {
		errs = append(errs, c.network.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close chain: %w", err)
	}
	return nil
}
