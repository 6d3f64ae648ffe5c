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
// commit point it reported before, or a storage incarnation other than
// the one the master recorded for it (it restarted on a lost, wiped or
// new storage), is removed at once and rejoins the same way; the master
// counts it as holding nothing meanwhile. A node restarted under a master
// takes its place only once the leader confirms it
// (wire.ConfigUpdate.Confirmed), which it never does for such a member.
// When every member has lost entries, the chain goes on from the node
// that holds the most of its log (the joining node, or a standby node: a
// removed member that held it), and waits for that node while it is
// silent (see lastcopy.go); a lost member stays only when no other node
// holds more.
//
// The master's durable state (configuration, standby nodes, target
// length) is a replicated state machine on hashicorp/raft, across one
// master (the embedded default: raft with a single voter) or a group of
// 3 or 5 (Options.Peers). Only the raft leader runs the failure detector
// and the join logic; the heartbeat times stay in its memory, and a newly
// elected leader gives every node a full failure timeout before its
// silence counts. Every change of the state is a raft log entry that the
// state machine applies only on the state it was decided on, with the
// next epoch: losing the leader loses no committed configuration, and no
// two configurations share an epoch. The other masters answer heartbeats
// and configuration requests with their latest applied configuration and
// the leader's address; a node renews its contact only from the leader's
// replies. Admin requests to a follower are refused with a redirect to the
// leader. A leader that hears from no member for a failure timeout (the
// nodes cannot reach it) hands the leadership to another master. Masters
// join and leave the group with AddMaster and RemoveMaster: a new master
// joins as a raft non-voter and votes once it has caught up, and a change
// that would leave the group without a reachable quorum is refused (see
// admin_check.go). With Options.RaftTLS raft runs over mutual TLS.
//
// With Options.Chains the master manages a partitioned cluster instead of
// one chain: Chains chains of Replicas replicas, each serving a range of
// the slots keys hash into (wire.SlotOf), placed on the servers (package
// server) that beat to it. Each chain runs the single-chain logic above;
// on top of it the leader creates the chains once enough servers report,
// never puts two replicas of a chain on one server, replaces the replicas
// of servers that stop reporting, moves replicas to even out the load, and
// takes the replicas of a restarted in-memory server out of their chains
// (see cluster.go). Heartbeats, configuration and admin requests name
// their chain; ClusterRequest returns the layout.
//
// Without Options.Dir the raft log is in memory: a restarted master (or
// a whole group restarted at once) starts again from Options.Config,
// below the chain's epoch. Nodes ignore configurations with an epoch below
// theirs, and report the configuration they run in their heartbeats: the
// master adopts the newest one it hears (see state.adopt) and runs the
// chain from there; the members of Options.Config the chain lacks rejoin.
// Until a node reports one, it changes nothing. With Options.Dir the
// state survives restarts.
package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/wire"
)

// DefaultFailureTimeout is the failure timeout when Options leaves it zero.
const DefaultFailureTimeout = time.Second

// ErrNotLeader is returned by changes asked of a master that is not the
// leader of its group; Master.Leader names the leader.
var ErrNotLeader = errors.New("master: not the leader of the master group")

// Options configure a Master.
type Options struct {
	// Transport and Addr are where the master listens. Required. Addr is
	// also the master's id in its group: give the address nodes and the
	// other masters use to reach it.
	Transport chain.Transport
	Addr      string
	// Config is the chain's initial configuration, used when the group has
	// no state yet. Required unless Join or Chains.
	Config chain.Config
	// Chains, when positive, makes the master manage a partitioned
	// cluster instead of one chain: Chains chains of Replicas replicas
	// each, placed on the servers that report to it (see package server),
	// created once Replicas servers have reported. Config is then ignored.
	Chains   int
	Replicas int
	// FailureTimeout is how long a node may stay silent before the master
	// removes it. Nodes heartbeat ten times per timeout and fence
	// themselves after half of it. Every master of a group must have the
	// same.
	FailureTimeout time.Duration
	Logger         *slog.Logger

	// Peers is the initial master group, this master included; every
	// master of a new group is started with the same list. Empty: this
	// master alone (raft with a single voter).
	Peers []Peer
	// Join starts a master with no group: it waits until the group's
	// leader adds it with AddMaster. Peers and Config are then ignored.
	Join bool
	// RaftAddr is the address raft's TCP transport listens on (for
	// example 127.0.0.1:7100, not :7100: it is also the address the other
	// masters dial). Ignored with RaftTransport. When both are
	// empty, a lone master uses an in-memory raft transport.
	RaftAddr string
	// RaftTransport, when set, is the raft transport to use (say
	// raft.NewInmemTransport in tests); its LocalAddr is this master's
	// raft address. The master closes it on Close if it has a Close
	// method.
	RaftTransport raft.Transport
	// Dir, when set, is where the raft log (on Pebble) and snapshots are
	// kept; empty keeps them in memory.
	Dir string
	// RaftStorage, when set, holds the raft log, stable state and
	// snapshots instead (Dir is then ignored): a test that gives the same
	// one to a master it starts again after Close restarts it with its
	// state, as Dir does across processes.
	RaftStorage *RaftStorage
	// RaftTLS, when set, makes the raft transport built for RaftAddr
	// mutual TLS: this master presents RaftTLS's certificate, dials the
	// other masters checking theirs against RootCAs and the host of their
	// raft address, and accepts only connections whose client certificate
	// verifies against ClientCAs (required), whatever ClientAuth says. A
	// certificate with a chain identity must name the member it is
	// checked for: an accepted RPC's server (checkRaftClaim), a dialed
	// raft address or the server the configuration gives it
	// (checkDialedPeer). A peer that fails is refused before raft reads
	// or writes a byte of its, and the refusal is logged. Every master of a group needs it, with
	// certificates of the same CA (chaind gives its -tls-* here). It
	// cannot be combined with RaftTransport. A RaftTLS whose
	// GetConfigForClient returns the current certificate and CAs (see
	// internal/tlsreload) rotates them for accepted connections without a
	// restart; RaftClientTLS does the same for dialed ones.
	RaftTLS *tls.Config
	// RaftClientTLS, when set with RaftTLS, is called for each raft
	// connection this master dials, and its config is used instead of
	// RaftTLS (a tls.Config cannot look up its RootCAs per handshake).
	RaftClientTLS func() *tls.Config
	// RaftVerifyPeer, when set with RaftTLS, is also called on every raft
	// connection's verified TLS state, accepted and dialed; an error
	// refuses the connection (say, a certificate not naming a master).
	RaftVerifyPeer func(tls.ConnectionState) error
	// CheckAddr, when set, checks the addresses admin changes name (a new
	// node's, a new master's): a change naming an address it refuses is
	// refused with its error as the reason. CheckTCPAddr is the check for
	// the TCP transport. Nil accepts any non-empty address.
	CheckAddr func(addr string) error
}

// Peer is one master of a group: the address of its chain transport
// (where nodes and clients reach it, its Options.Addr) and of its raft
// transport.
type Peer struct {
	Addr     string
	RaftAddr string
}

// Master is a running configuration master.
type Master struct {
	opts Options
	log  *slog.Logger
	ep   chain.Endpoint

	raft     *raft.Raft
	fsm      *fsm
	raftAddr raft.ServerAddress
	closers  []func() error     // raft transport and stores, closed after raft
	progress *progressTransport // what the raft transport heard from each peer

	propose sync.Mutex // serializes changes of the replicated state (see change)

	mu      sync.Mutex
	leading bool     // this master runs the detector
	cl      *cluster // the leader's working state; nil when not leading
	base    uint64   // the fsm version the working state was loaded from

	kick   chan struct{}   // asks the detector to commit a change now
	ctx    context.Context // ends at Close; bounds sends
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// adminSlot lets one admin request run at a time.
	adminSlot chan struct{}
	// metrics counts reconfigurations, for Collector.
	metrics masterMetrics
	// guard refuses messages the sender's identity does not allow (see
	// authz.go).
	guard auth.Guard
}

// Start validates opts and starts a master. A lone master (a group of
// one: no Peers, no Join, no state on disk of a larger group) returns
// once it leads.
func Start(opts Options) (*Master, error) {
	if opts.Transport == nil || opts.Addr == "" {
		return nil, fmt.Errorf("start master: %w: transport and address required", chain.ErrInvalidConfig)
	}
	if !opts.Join {
		if _, err := opts.initial(); err != nil {
			return nil, fmt.Errorf("start master: %w", err)
		}
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
	ctx, cancel := context.WithCancel(context.Background())
	m := &Master{
		opts:      opts,
		log:       opts.Logger.With("master", opts.Addr),
		fsm:       &fsm{},
		kick:      make(chan struct{}, 1),
		adminSlot: make(chan struct{}, 1),
		ctx:       ctx,
		cancel:    cancel,
	}
	m.guard = auth.Guard{Log: m.log, Receiver: "master"}
	if err := m.startRaft(); err != nil {
		cancel()
		return nil, fmt.Errorf("start master: %w", err)
	}
	// Servers' replicas reach the master from sub-addresses (see
	// transport/mux); plain endpoints talk to it as before.
	tr := opts.Transport
	if _, ok := tr.(*mux.Transport); !ok {
		tr = mux.New(tr)
	}
	ep, err := tr.Listen(opts.Addr)
	if err != nil {
		cancel()
		m.stopRaft()
		return nil, fmt.Errorf("start master: listen: %w", err)
	}
	m.ep = ep
	if m.lone() {
		if err := m.awaitLead(); err != nil {
			_ = m.Close()
			return nil, fmt.Errorf("start master: %w", err)
		}
	}
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.serve() }()
	go func() { defer m.wg.Done(); m.detect() }()
	return m, nil
}

// Close stops the master: it stops listening, waits for the changes it
// was committing, then leaves its group's raft (the others elect a new
// leader if it led). Raft is shut down last because a raft.Apply whose
// entry was committed but not yet applied when raft shuts down is never
// answered.
func (m *Master) Close() error {
	m.cancel()
	var err error
	if m.ep != nil {
		err = m.ep.Close()
	}
	m.wg.Wait()
	rerr := m.stopRaft()
	if err = errors.Join(err, rerr); err != nil {
		return fmt.Errorf("close master: %w", err)
	}
	return nil
}

// Addr returns the master's address.
func (m *Master) Addr() string { return m.opts.Addr }

// initial returns the replicated state a new group starts from.
func (o Options) initial() (durable, error) {
	if o.Chains > 0 {
		if o.Replicas < 1 {
			return durable{}, fmt.Errorf("%w: %d chains need at least one replica each", chain.ErrInvalidConfig, o.Chains)
		}
		if o.Chains > wire.Slots {
			return durable{}, fmt.Errorf("%w: %d chains for %d slots", chain.ErrInvalidConfig, o.Chains, wire.Slots)
		}
		return durable{Plan: plan{Chains: o.Chains, Replicas: o.Replicas}}, nil
	}
	if err := o.Config.Validate(); err != nil {
		return durable{}, err
	}
	return single(chainDurable{Config: o.Config.Clone(), Target: len(o.Config.Members)}), nil
}

// Config returns the latest configuration of the chain with id "" (the
// chain of a master of one chain) this master has applied; on the
// leader, the current one.
func (m *Master) Config() chain.Config {
	cfg, _ := m.ChainConfig("")
	return cfg
}

// ChainConfig returns the latest configuration of chain id this master
// has applied, and false if it manages no such chain.
func (m *Master) ChainConfig(id string) (chain.Config, bool) {
	d, _ := m.fsm.current()
	c, ok := d.chain(id)
	return c.Config, ok
}

// Cluster returns the layout of the cluster as this master has applied
// it; servers are reported alive only by the leader.
func (m *Master) Cluster() wire.Cluster {
	d, _ := m.fsm.current()
	m.mu.Lock()
	defer m.mu.Unlock()
	return d.layout(m.cl, time.Now())
}

// AddNode lets member join the chain with id "": once it heartbeats, it
// joins behind the tail, catches up and becomes the tail. Only the leader
// of the master group takes it (ErrNotLeader).
func (m *Master) AddNode(member chain.Member) (chain.Config, error) {
	return m.AddNodeTo("", member)
}

// AddNodeTo is AddNode for the chain with the given id. In a partitioned
// cluster the master keeps every chain at the plan's replica count: once a
// node added by hand has joined, the member on the busiest server leaves.
func (m *Master) AddNodeTo(id string, member chain.Member) (chain.Config, error) {
	if err := checkAddrs(m.opts.CheckAddr, member.Addr); member.Addr != "" && err != nil {
		cfg, _ := m.ChainConfig(id)
		return cfg, fmt.Errorf("add node %q: %w", member.ID, err)
	}
	d, err := m.change(func(cl *cluster) error {
		s, err := cl.find(id)
		if err != nil {
			return err
		}
		return s.addNode(member)
	})
	cfg := chainConfig(d, id)
	if err != nil {
		return cfg, fmt.Errorf("add node %q: %w", member.ID, err)
	}
	m.log.Info("node added", "chain", id, "id", member.ID, "addr", member.Addr)
	m.tellStandby(id, member)
	return cfg, nil
}

// tellStandby tells member, once added to chain id as a standby node, that
// it is one (wire.ConfigUpdate.Standby) without waiting for its next
// heartbeat, so that it can claim its place from a master that loses its
// state soon after (see state.takesClaim). Its heartbeats' replies tell
// it again.
func (m *Master) tellStandby(id string, member chain.Member) {
	m.mu.Lock()
	standby := false
	if m.cl != nil {
		if s := m.cl.chain(id); s != nil {
			standby = s.standbyOf(member.ID)
		}
	}
	m.mu.Unlock()
	u := m.update(id, 0)
	if !standby || u.Follower {
		return
	}
	u.Standby = true
	m.send(member.Addr, u)
}

// RemoveNode takes the node id out of the chain with id "" for good. Only
// the leader of the master group takes it (ErrNotLeader).
func (m *Master) RemoveNode(id string) (chain.Config, error) {
	return m.RemoveNodeFrom("", id)
}

// RemoveNodeFrom is RemoveNode for the chain with the given id.
func (m *Master) RemoveNodeFrom(chainID, id string) (chain.Config, error) {
	d, err := m.change(func(cl *cluster) error {
		s, err := cl.find(chainID)
		if err != nil {
			return err
		}
		_, err = s.removeNode(id)
		return err
	})
	cfg := chainConfig(d, chainID)
	if err != nil {
		return cfg, fmt.Errorf("remove node %q: %w", id, err)
	}
	m.log.Info("node removed", "chain", chainID, "id", id)
	return cfg, nil
}

// chainConfig returns the configuration of chain id in d (zero if none).
func chainConfig(d durable, id string) chain.Config {
	c, _ := d.chain(id)
	return c.Config
}
