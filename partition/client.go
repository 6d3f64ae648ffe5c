// Package partition is the client of a partitioned cluster: many chains,
// each serving a range of the slots keys hash into (wire.SlotOf), managed
// by a master started with master.Options.Chains and hosted by servers
// (package server).
//
// A Client learns the layout (chains and their slot ranges) from the
// masters, then routes each keyed command and query to the chain of the
// key's slot through one chain.Client per chain; those follow their
// chain's reconfigurations as any client does. The raw log API names its
// chain: Chain returns that chain's chain.Client for Append, Read and
// Latest.
package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/wire"
)

// Options configure a Client.
type Options struct {
	// Transport is the base transport (tcp or inmem): the client wraps it
	// with transport/mux, as replicas are addressed by server and chain.
	// A *mux.Transport is used as it is. Required.
	Transport chain.Transport
	// Masters are the addresses of the master group. Required.
	Masters []string
	// ClientOptions are added to every chain's client (after the
	// transport, masters and chain the partition client sets).
	ClientOptions []chain.ClientOption
	// RetryInterval is how often the layout is asked for again while the
	// masters have not answered or have no chains yet. Zero: 50ms.
	RetryInterval time.Duration
	// Logger receives the layouts refused from unauthorized peers (see
	// Unauthorized); nil discards them.
	Logger *slog.Logger
}

// Client routes commands, queries and log operations to the chains of a
// partitioned cluster. It is safe for concurrent use.
type Client struct {
	opts Options
	tr   *mux.Transport
	ep   chain.Endpoint // for layout requests
	// guard refuses layouts from senders other than masters (under an
	// authenticating transport).
	guard auth.Guard

	mu      sync.Mutex
	layout  wire.Cluster             // chains in slot order; empty until learned
	clients map[string]*chain.Client // by chain id, created on first use
	waiters map[uint64]chan *wire.ClusterUpdate
	nextID  uint64
	closed  bool

	wg sync.WaitGroup
}

// ErrNoChain is returned for a chain id the cluster does not have.
var ErrNoChain = errors.New("partition: no such chain")

// NewClient returns a client of the cluster the masters manage. It
// learns the layout on first use.
func NewClient(opts Options) (*Client, error) {
	if opts.Transport == nil || len(opts.Masters) == 0 {
		return nil, fmt.Errorf("new partition client: %w: transport and masters required", chain.ErrInvalidConfig)
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 50 * time.Millisecond
	}
	tr, ok := opts.Transport.(*mux.Transport)
	if !ok {
		tr = mux.New(opts.Transport)
	}
	ep, err := tr.Listen("")
	if err != nil {
		return nil, fmt.Errorf("new partition client: listen: %w", err)
	}
	c := &Client{
		opts:    opts,
		tr:      tr,
		ep:      ep,
		clients: make(map[string]*chain.Client),
		waiters: make(map[uint64]chan *wire.ClusterUpdate),
		nextID:  1,
		guard:   auth.Guard{Log: opts.Logger, Receiver: "partition client"},
	}
	c.wg.Add(1)
	go c.receive()
	return c, nil
}

// Close closes the client and every chain's client.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	clients := c.clients
	c.clients = map[string]*chain.Client{}
	c.mu.Unlock()
	err := c.ep.Close()
	c.wg.Wait()
	for _, cl := range clients {
		err = errors.Join(err, cl.Close())
	}
	if err != nil {
		return fmt.Errorf("close partition client: %w", err)
	}
	return nil
}

// Do runs the command name with data on the chain that serves key, as
// chain.Client.Do does.
func (c *Client) Do(ctx context.Context, key []byte, name string, data []byte) ([]byte, error) {
	cl, err := c.clientFor(ctx, key)
	if err != nil {
		return nil, err
	}
	return cl.Do(ctx, name, data)
}

// Query runs the query name on the tail of the chain that serves key, as
// chain.Client.Query does.
func (c *Client) Query(ctx context.Context, key []byte, name string, query []byte) ([]byte, error) {
	cl, err := c.clientFor(ctx, key)
	if err != nil {
		return nil, err
	}
	return cl.Query(ctx, name, query)
}

// ChainOf returns the chain that serves key.
func (c *Client) ChainOf(ctx context.Context, key []byte) (wire.ChainInfo, error) {
	layout, err := c.Layout(ctx)
	if err != nil {
		return wire.ChainInfo{}, err
	}
	ch, ok := layout.ChainOf(wire.SlotOf(key))
	if !ok {
		return wire.ChainInfo{}, fmt.Errorf("slot %d: %w", wire.SlotOf(key), ErrNoChain)
	}
	return ch, nil
}

// Chain returns the client of the chain with the given id, for its raw
// log (Append, Read, Latest) or any other call. It is closed with c.
func (c *Client) Chain(ctx context.Context, id string) (*chain.Client, error) {
	layout, err := c.Layout(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := layout.Chain(id); !ok {
		return nil, fmt.Errorf("chain %q: %w", id, ErrNoChain)
	}
	return c.client(id)
}

// clientFor returns the client of the chain serving key.
func (c *Client) clientFor(ctx context.Context, key []byte) (*chain.Client, error) {
	ch, err := c.ChainOf(ctx, key)
	if err != nil {
		return nil, err
	}
	return c.client(ch.ID)
}

// client returns the client of chain id, creating it on first use.
func (c *Client) client(id string) (*chain.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("partition client: %w", chain.ErrClosed)
	}
	if cl, ok := c.clients[id]; ok {
		return cl, nil
	}
	opts := []chain.ClientOption{chain.WithTransport(c.tr), chain.WithMaster(c.opts.Masters...), chain.WithChain(id)}
	cl, err := chain.NewClient(append(opts, c.opts.ClientOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("client of chain %q: %w", id, err)
	}
	c.clients[id] = cl
	return cl, nil
}

// Layout returns the cluster's chains and servers. The chains and their
// slot ranges never change once created, so the first layout with chains
// is kept; until the masters have one, Layout asks them again every
// RetryInterval until ctx is done.
func (c *Client) Layout(ctx context.Context) (wire.Cluster, error) {
	c.mu.Lock()
	if len(c.layout.Chains) > 0 {
		l := c.layout
		c.mu.Unlock()
		return l, nil
	}
	c.mu.Unlock()
	empty := false // a master answered with no chains
	for {
		u, err := c.Status(ctx)
		if err == nil && len(u.Cluster.Chains) == 0 {
			empty = true
		}
		if err == nil && len(u.Cluster.Chains) > 0 {
			c.mu.Lock()
			c.layout = u.Cluster
			c.mu.Unlock()
			return u.Cluster, nil
		}
		if errors.Is(err, chain.ErrClosed) {
			return wire.Cluster{}, fmt.Errorf("cluster layout: %w", err)
		}
		select {
		case <-ctx.Done():
			if empty {
				err = errors.New("the masters have created no chains yet")
			}
			return wire.Cluster{}, fmt.Errorf("cluster layout: %w (%w)", ctx.Err(), err)
		case <-time.After(c.opts.RetryInterval):
		}
	}
}

// Status asks the masters, in turn, for the cluster's current layout and
// the master group, and returns the first answer: the leader's if it
// comes first, else a follower's (committed, without server liveness).
func (c *Client) Status(ctx context.Context) (*wire.ClusterUpdate, error) {
	var lastErr error
	for _, m := range c.opts.Masters {
		u, err := c.ask(ctx, m)
		if err == nil {
			if !u.Follower || u.Leader == "" || !slices.Contains(c.opts.Masters, u.Leader) {
				return u, nil
			}
			if lu, lerr := c.ask(ctx, u.Leader); lerr == nil {
				return lu, nil
			}
			return u, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("ask the masters for the cluster: %w", lastErr)
}

// ask sends a ClusterRequest to master m and waits for its answer, at
// most RetryInterval (or until ctx is done).
func (c *Client) ask(ctx context.Context, m string) (*wire.ClusterUpdate, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("partition client: %w", chain.ErrClosed)
	}
	id := c.nextID
	c.nextID++
	ch := make(chan *wire.ClusterUpdate, 1)
	c.waiters[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, id)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, c.opts.RetryInterval)
	defer cancel()
	if err := c.ep.Send(ctx, m, &wire.ClusterRequest{ID: id}); err != nil {
		return nil, fmt.Errorf("master %s: %w", m, err)
	}
	select {
	case u := <-ch:
		return u, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("master %s: %w", m, ctx.Err())
	}
}

// receive hands the masters' answers to their waiters: only layouts from
// one of Options.Masters, and, under an authenticating transport, from a
// peer whose identity is a master's (auth.Authorize).
func (c *Client) receive() {
	defer c.wg.Done()
	for in := range c.ep.Receive() {
		if !c.guard.Admit(in.From, in.Msg, in.Peer) {
			continue
		}
		u, ok := in.Msg.(*wire.ClusterUpdate)
		if !ok || !slices.Contains(c.opts.Masters, in.From) {
			continue
		}
		c.mu.Lock()
		ch := c.waiters[u.ID]
		c.mu.Unlock()
		if ch != nil {
			select {
			case ch <- u:
			default:
			}
		}
	}
}

// Unauthorized returns the number of messages the client refused because
// their sender's verified identity may not send them (see package auth).
func (c *Client) Unauthorized() uint64 { return c.guard.Refused() }
