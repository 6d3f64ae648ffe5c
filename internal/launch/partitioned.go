package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/server"
)

// PartitionedConfig describes a partitioned deployment run in this
// process: a master that manages Chains chains of Replicas replicas and
// places them on the servers "s1", "s2", ... listening at ServerAddrs, each
// replica running the key-value store.
type PartitionedConfig struct {
	// MasterAddr is where the master listens.
	MasterAddr string
	// ServerAddrs are where the servers listen, one server each.
	ServerAddrs []string
	// Chains and Replicas are the plan's shape (see master.Options).
	Chains, Replicas int
	// Transport carries the master's messages, and the servers' unless
	// ServerTransports gives server i a transport of its own (its own
	// connections, as a separate process would have). Every transport
	// stays the caller's to close.
	Transport        chain.Transport
	ServerTransports []chain.Transport
	// FailureTimeout is the master's; zero means
	// master.DefaultFailureTimeout.
	FailureTimeout time.Duration
	// MasterDir keeps the master's raft log on disk; empty keeps it in
	// memory.
	MasterDir string
	// DataDir keeps each server's replicas on Pebble under DataDir/<server
	// id>; empty keeps them in memory.
	DataDir string
	// NoSync turns off fsync on the Pebble storages (benchmarks only).
	NoSync bool
	// Logger receives the master's and the servers' logs; nil discards
	// them.
	Logger *slog.Logger
}

// Partitioned is a running partitioned deployment: its master and its
// servers, Servers[i] listening at PartitionedConfig.ServerAddrs[i].
type Partitioned struct {
	Master  *master.Master
	Servers []*server.Server
	plan    PartitionedConfig
}

// StartPartitioned starts the master and then the servers. The master
// creates the chains once Replicas servers report to it: see WaitPlaced.
// On error everything started is closed again.
func StartPartitioned(pc PartitionedConfig) (_ *Partitioned, err error) {
	p := &Partitioned{plan: pc}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("start partitioned: %w", err), p.Close())
		}
	}()
	if len(pc.ServerTransports) > 0 && len(pc.ServerTransports) != len(pc.ServerAddrs) {
		return nil, fmt.Errorf("%w: %d server transports for %d servers",
			chain.ErrInvalidArgument, len(pc.ServerTransports), len(pc.ServerAddrs))
	}
	p.Master, err = master.Start(master.Options{Transport: pc.Transport, Addr: pc.MasterAddr,
		Chains: pc.Chains, Replicas: pc.Replicas, FailureTimeout: pc.FailureTimeout, Logger: pc.Logger, Dir: pc.MasterDir})
	if err != nil {
		return nil, fmt.Errorf("start master: %w", err)
	}
	for i, addr := range pc.ServerAddrs {
		sc := ServerConfig{ID: "s" + strconv.Itoa(i+1), Addr: addr, Masters: []string{pc.MasterAddr},
			Transport: pc.Transport, NoSync: pc.NoSync, Logger: pc.Logger}
		if len(pc.ServerTransports) > 0 {
			sc.Transport = pc.ServerTransports[i]
		}
		if pc.DataDir != "" {
			sc.DataDir = filepath.Join(pc.DataDir, sc.ID)
		}
		s, err := StartServer(sc)
		if err != nil {
			return nil, fmt.Errorf("start server %s: %w", sc.ID, err)
		}
		p.Servers = append(p.Servers, s)
	}
	return p, nil
}

// placedPoll is how often WaitPlaced looks at the master's layout.
const placedPoll = 10 * time.Millisecond

// WaitPlaced waits until every chain of the plan exists with Replicas
// members and no joining node, and each member runs on its server at the
// chain's epoch, or ctx ends.
func (p *Partitioned) WaitPlaced(ctx context.Context) error {
	tick := time.NewTicker(placedPoll)
	defer tick.Stop()
	for {
		err := p.placed()
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("wait for the chains to be placed: %w (%w)", ctx.Err(), err)
		}
	}
}

// placed returns why the plan is not yet placed, or nil.
func (p *Partitioned) placed() error {
	layout := p.Master.Cluster()
	if len(layout.Chains) != p.plan.Chains {
		return fmt.Errorf("%d chains of %d", len(layout.Chains), p.plan.Chains)
	}
	running := map[string]*chain.Node{} // by member id
	for _, s := range p.Servers {
		for _, r := range s.Replicas() {
			if n := s.Node(r.Chain); n != nil {
				running[r.Member.ID] = n
			}
		}
	}
	for _, ch := range layout.Chains {
		cfg := ch.Config
		if len(cfg.Members) != p.plan.Replicas || cfg.Joining != nil {
			return fmt.Errorf("chain %s: %d members, joining %v", ch.ID, len(cfg.Members), cfg.Joining)
		}
		for _, m := range cfg.Members {
			if n := running[m.ID]; n == nil || n.Config().Epoch != cfg.Epoch {
				return fmt.Errorf("chain %s: replica %s not running at epoch %d", ch.ID, m.ID, cfg.Epoch)
			}
		}
	}
	return nil
}

// Close closes the servers, then the master, and returns every error met.
// It is safe on a partly started Partitioned.
func (p *Partitioned) Close() error {
	var errs []error
	for _, s := range p.Servers {
		errs = append(errs, s.Close())
	}
	p.Servers = nil
	if p.Master != nil {
		errs = append(errs, p.Master.Close())
		p.Master = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close partitioned: %w", err)
	}
	return nil
}
