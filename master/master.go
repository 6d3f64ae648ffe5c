// Package master is the configuration master of a chain: it keeps the
// chain's configuration (epoch and ordered members), takes heartbeats from
// the nodes, and reconfigures the chain when a node fails, when a new node
// has caught up, and on command.
//
// A node that misses heartbeats for the failure timeout is removed: the
// head's successor becomes head, the tail's predecessor becomes tail, a
// middle node's neighbours are linked. Nodes stop serving on their own
// after half the timeout without the master (self-fencing), so a node the
// master replaces has already stopped. A master that hears from no member
// for half the timeout assumes it is the one cut off and removes nobody;
// when contact returns, every node gets a full timeout to report. The last
// member is never removed.
//
// A node added with AddNode (or an AdminRequest over the transport), or a
// removed node that comes back, joins behind the tail, pulls the log, and
// becomes the tail once it holds what the tail has committed; one node
// joins at a time, while the chain is shorter than its target length (its
// initial length, plus the nodes added, minus the nodes removed with
// RemoveNode). A member whose heartbeat shows a log shorter than the
// commit point it reported before (it restarted on a lost storage) is
// removed at once and rejoins the same way.
//
// The master keeps its state in memory: it is one process, embeddable in
// any program (chaind runs it with -master). A restarted master starts
// again from Options.Config; nodes ignore configurations with an epoch
// below theirs, so it must be given the current members and an epoch
// above any the chain has reached.
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

	ctx    context.Context // ends at Close; bounds sends
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
		ctx:    ctx,
		cancel: cancel,
	}
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.serve() }()
	go func() { defer m.wg.Done(); m.detect() }()
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
	changed, err := m.state.removeNode(id)
	cfg := m.state.cfg.Clone()
	var a announcement
	if changed {
		a = m.announcementLocked()
	}
	m.mu.Unlock()
	if err != nil {
		return cfg, fmt.Errorf("remove node %q: %w", id, err)
	}
	m.log.Info("node removed", "id", id)
	m.announce(a)
	return cfg, nil
}

// detect runs the failure detector and the join logic.
func (m *Master) detect() {
	tick := time.NewTicker(m.opts.FailureTimeout / 10)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-m.ctx.Done():
			return
		}
		var a announcement
		m.mu.Lock()
		if m.state.tick(time.Now()) {
			a = m.announcementLocked()
		}
		m.mu.Unlock()
		m.announce(a)
	}
}

// announcement is a new configuration and the nodes to send it to.
type announcement struct {
	to     []string
	update *chain.ConfigUpdate
}

// announcementLocked prepares the announcement of the current
// configuration to every node the master knows; nodes also learn it from
// the replies to their heartbeats. m.mu must be held.
func (m *Master) announcementLocked() announcement {
	cfg := m.state.cfg
	m.log.Info("new configuration", "epoch", cfg.Epoch, "members", cfg.Members, "joining", cfg.Joining)
	a := announcement{update: m.updateLocked(0)}
	for _, ns := range m.state.nodes {
		a.to = append(a.to, ns.addr)
	}
	return a
}

// announce sends a; it is called without m.mu, as sends may block.
func (m *Master) announce(a announcement) {
	for _, to := range a.to {
		m.send(to, a.update)
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

// send sends msg to the node or client at to. A transport may block a send
// while it applies backpressure; the master waits at most a tenth of the
// failure timeout, so a stalled peer cannot hold up the failure detector
// or the heartbeats of the others (a lost message is resent: nodes
// heartbeat again and clients ask again).
func (m *Master) send(to string, msg chain.Message) {
	if to == "" {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.FailureTimeout/10)
	defer cancel()
	if err := m.ep.Send(ctx, to, msg); err != nil && !errors.Is(err, chain.ErrClosed) {
		m.log.Debug("send failed", "to", to, "err", err)
	}
}

// serve answers heartbeats, configuration requests and admin requests.
func (m *Master) serve() {
	for in := range m.ep.Receive() {
		switch msg := in.Msg.(type) {
		case *chain.Heartbeat:
			var a announcement
			m.mu.Lock()
			wasBehind := m.state.behind
			changed := m.state.heartbeat(msg, time.Now())
			if m.state.behind > wasBehind {
				m.log.Error("a node is at a later epoch than the master: the master was restarted with an old configuration; "+
					"it makes no change until restarted with the current members and a higher epoch",
					"node", msg.ID, "node_epoch", msg.Epoch, "master_epoch", m.state.cfg.Epoch)
			}
			if changed {
				m.log.Warn("member lost committed entries: removed, it rejoins as a new node", "id", msg.ID, "last", msg.Last)
				a = m.announcementLocked()
			}
			update := m.updateLocked(0)
			m.mu.Unlock()
			m.send(in.From, update)
			m.announce(a)
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
		cfg, err = m.Config(), refused(chain.ErrInvalidArgument, fmt.Sprintf("unknown admin operation %d", req.Op))
	}
	resp := &chain.AdminResponse{ID: req.ID, Config: cfg}
	if err != nil {
		msg := err.Error()
		if r := (*refusal)(nil); errors.As(err, &r) {
			msg = r.detail
		}
		resp.Err = &chain.RemoteError{Code: chain.CodeInvalidArgument, Message: msg}
	}
	return resp
}
