// Package master is the configuration master of a chain: it keeps the
// chain's configuration (epoch and ordered members), takes heartbeats from
// the nodes, and reconfigures the chain when a node fails, when a new node
// has caught up, and on command.
//
// A node that misses heartbeats for the failure timeout is removed: the
// head's successor becomes head, the tail's predecessor becomes tail, a
// middle node's neighbours are linked. Nodes stop serving on their own
// after half the timeout without the master (self-fencing), so a node the
// master replaces has already stopped. A node added with AddNode, or a
// removed node that comes back, joins behind the tail, pulls the log, and
// becomes the tail once it holds what the tail has committed.
//
// The master keeps its state in memory: it is one process, embeddable in
// any program (chaind runs it with -master).
package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chainrep/chain"
)

// DefaultFailureTimeout is the failure timeout when Options leaves it zero.
const DefaultFailureTimeout = time.Second

// Options configure a Master.
type Options struct {
	// Transport and Addr are where the master listens. Required.
	Transport chain.Transport
	Addr      string
	// Config is the chain's initial configuration. Required.
	Config chain.Config
	// FailureTimeout is how long a node may stay silent before the master
	// removes it. Nodes heartbeat ten times per timeout and fence
	// themselves after half of it.
	FailureTimeout time.Duration
	Logger         *slog.Logger
}

// Master is a running configuration master.
type Master struct {
	opts Options
	log  *slog.Logger
	ep   chain.Endpoint

	mu    sync.Mutex
	state *state

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start validates opts and starts a master.
func Start(opts Options) (*Master, error) {
	if opts.Transport == nil || opts.Addr == "" {
		return nil, fmt.Errorf("start master: %w: transport and address required", chain.ErrInvalidConfig)
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("start master: %w", err)
	}
	if opts.FailureTimeout == 0 {
		opts.FailureTimeout = DefaultFailureTimeout
	}
	if opts.FailureTimeout < 10*time.Millisecond {
		return nil, fmt.Errorf("start master: %w: failure timeout %v too short", chain.ErrInvalidConfig, opts.FailureTimeout)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ep, err := opts.Transport.Listen(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("start master: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Master{
		opts:   opts,
		log:    opts.Logger.With("master", opts.Addr),
		ep:     ep,
		state:  newState(opts.Config, opts.FailureTimeout, time.Now()),
		cancel: cancel,
	}
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.serve() }()
	go func() { defer m.wg.Done(); m.detect(ctx) }()
	return m, nil
}

// Close stops the master.
func (m *Master) Close() error {
	m.cancel()
	err := m.ep.Close()
	m.wg.Wait()
	if err != nil {
		return fmt.Errorf("close master: %w", err)
	}
	return nil
}

// Addr returns the master's address.
func (m *Master) Addr() string { return m.ep.Addr() }

// Config returns the current configuration.
func (m *Master) Config() chain.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.cfg.Clone()
}

// AddNode lets member join the chain: once it heartbeats, it joins behind
// the tail, catches up and becomes the tail.
func (m *Master) AddNode(member chain.Member) (chain.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.state.addNode(member); err != nil {
		return m.state.cfg.Clone(), fmt.Errorf("add node %q: %w", member.ID, err)
	}
	m.log.Info("node added", "id", member.ID, "addr", member.Addr)
	return m.state.cfg.Clone(), nil
}

// RemoveNode takes the node id out of the chain for good.
func (m *Master) RemoveNode(id string) (chain.Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed, err := m.state.removeNode(id)
	if err != nil {
		return m.state.cfg.Clone(), fmt.Errorf("remove node %q: %w", id, err)
	}
	if changed {
		m.announceLocked()
	}
	return m.state.cfg.Clone(), nil
}

// detect runs the failure detector and the join logic.
func (m *Master) detect(ctx context.Context) {
	tick := time.NewTicker(m.opts.FailureTimeout / 10)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		m.mu.Lock()
		if m.state.tick(time.Now()) {
			m.announceLocked()
		}
		m.mu.Unlock()
	}
}

// announceLocked sends the new configuration to every node the master
// knows; nodes also learn it from the replies to their heartbeats.
func (m *Master) announceLocked() {
	cfg := m.state.cfg
	m.log.Info("new configuration", "epoch", cfg.Epoch, "members", cfg.Members, "joining", cfg.Joining)
	update := m.updateLocked(0)
	for _, ns := range m.state.nodes {
		m.send(ns.addr, update)
	}
}

func (m *Master) updateLocked(id uint64) *chain.ConfigUpdate {
	return &chain.ConfigUpdate{
		ID:             id,
		Config:         m.state.cfg.Clone(),
		FenceAfter:     m.opts.FailureTimeout / 2,
		HeartbeatEvery: m.opts.FailureTimeout / 10,
	}
}

func (m *Master) send(to string, msg chain.Message) {
	if to == "" {
		return
	}
	if err := m.ep.Send(context.Background(), to, msg); err != nil && !errors.Is(err, chain.ErrClosed) {
		m.log.Debug("send failed", "to", to, "err", err)
	}
}

// serve answers heartbeats, configuration requests and admin requests.
func (m *Master) serve() {
	for in := range m.ep.Receive() {
		switch msg := in.Msg.(type) {
		case *chain.Heartbeat:
			m.mu.Lock()
			m.state.heartbeat(msg, time.Now())
			update := m.updateLocked(0)
			m.mu.Unlock()
			m.send(in.From, update)
		case *chain.ConfigRequest:
			m.mu.Lock()
			update := m.updateLocked(msg.ID)
			m.mu.Unlock()
			m.send(in.From, update)
		case *chain.AdminRequest:
			m.send(in.From, m.admin(msg))
		}
	}
}

func (m *Master) admin(req *chain.AdminRequest) *chain.AdminResponse {
	var cfg chain.Config
	var err error
	switch req.Op {
	case chain.AdminAddNode:
		cfg, err = m.AddNode(req.Member)
	case chain.AdminRemoveNode:
		cfg, err = m.RemoveNode(req.Member.ID)
	default:
		cfg, err = m.Config(), fmt.Errorf("%w: unknown admin operation %d", chain.ErrInvalidArgument, req.Op)
	}
	resp := &chain.AdminResponse{ID: req.ID, Config: cfg}
	if err != nil {
		resp.Err = &chain.RemoteError{Code: chain.CodeInvalidArgument, Message: err.Error()}
	}
	return resp
}
