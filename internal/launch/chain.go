package launch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/storage/pebble"
	"github.com/chainrep/chain/transport/inmem"
)

// Cluster is a running chain. Nodes[i] applies commands to Stores[i];
// Nodes[0] is the head and the last node the tail. Close releases it all.
type Cluster struct {
	Config  chain.Config
	Network *inmem.Network
	Nodes   []*chain.Node
	Stores  []*kv.Store
	Chain   *chain.Client // the client KV sends through
	KV      *kv.Client    // typed client of the chain

	dataDir   string // "" for memory storage
	storages  []chain.Storage
	closeOnce sync.Once
	closeErr  error
}

// Config returns the epoch-1 configuration of the members ids, in chain
// order, each listening at an address equal to its id.
func Config(ids ...string) chain.Config {
	cfg := chain.Config{Epoch: 1}
	for _, id := range ids {
		cfg.Members = append(cfg.Members, chain.Member{ID: id, Addr: id})
	}
	return cfg
}

// Start creates, registers and starts a node for each of ids (in chain
// order) and a client, all on a new in-memory network. opts are passed to
// every node and to the client after the transport, storage and
// configuration options. On error everything started is closed again.
func Start(ctx context.Context, ids []string, opts ...chain.Option) (*Cluster, error) {
	return StartIn(ctx, "", ids, opts...)
}

// StartIn is Start with each node's log kept durably on Pebble in
// dataDir/<id>; an empty dataDir means memory storage. Started again on
// the same directory, the nodes replay their logs and the Stores come back
// with the data.
func StartIn(ctx context.Context, dataDir string, ids []string, opts ...chain.Option) (_ *Cluster, err error) {
	c := &Cluster{Config: Config(ids...), Network: inmem.New(inmem.Options{}), dataDir: dataDir}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if err := c.Config.Validate(); err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	for _, id := range ids {
		if err := c.startNode(ctx, id, opts); err != nil {
			return nil, fmt.Errorf("start cluster: %w", err)
		}
	}
	client, err := chain.NewClient(append([]chain.Option{
		chain.WithTransport(c.Network), chain.WithConfig(c.Config),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	c.Chain, c.KV = client, kv.NewClient(client)
	return c, nil
}

// startNode creates node id with its own storage and Store and starts it.
func (c *Cluster) startNode(ctx context.Context, id string, opts []chain.Option) error {
	var st chain.Storage = memory.New()
	if c.dataDir != "" {
		var err error
		if st, err = pebble.Open(filepath.Join(c.dataDir, id)); err != nil {
			return fmt.Errorf("open storage of %s: %w", id, err)
		}
	}
	c.storages = append(c.storages, st)
	node, err := chain.NewNode(id, append([]chain.Option{
		chain.WithTransport(c.Network), chain.WithStorage(st), chain.WithConfig(c.Config),
	}, opts...)...)
	if err != nil {
		return err
	}
	c.Nodes = append(c.Nodes, node) // Close closes it from now on
	store := kv.New()
	if err := store.Register(node); err != nil {
		return err
	}
	c.Stores = append(c.Stores, store)
	return node.Start(ctx)
}

// WaitConverged waits until every node has committed and applied the
// chain's commit point as of the call, which includes every write
// acknowledged before it, and returns that offset. Once it returns, every
// Store holds the state after that offset (and perhaps later writes). It
// gives up when ctx ends.
func (c *Cluster) WaitConverged(ctx context.Context) (uint64, error) {
	latest, err := c.Chain.Latest(ctx)
	if err != nil {
		return 0, fmt.Errorf("wait converged: %w", err)
	}
	for _, n := range c.Nodes {
		if err := n.Log().WaitCommitted(ctx, latest); err != nil {
			return 0, fmt.Errorf("wait converged: node %s: %w", n.ID(), err)
		}
	}
	// The applied mark has no wait method: poll it.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for _, n := range c.Nodes {
		for n.Stats().Applied < latest {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return 0, fmt.Errorf("wait converged: node %s applied %d of %d: %w",
					n.ID(), n.Stats().Applied, latest, ctx.Err())
			}
		}
	}
	return latest, nil
}

// Close closes the client, the nodes, their storage and the network, and
// returns every error met. It is safe on a partly started cluster, and
// later calls return the first call's result.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Cluster) close() error {
	var errs []error
	if c.Chain != nil {
		errs = append(errs, c.Chain.Close())
	}
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		errs = append(errs, c.Nodes[i].Close())
	}
	for _, st := range c.storages {
		errs = append(errs, st.Close())
	}
	errs = append(errs, c.Network.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close cluster: %w", err)
	}
	return nil
}
