package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Cluster settings.
const (
	transportMaxPool   = 3                // raft's usual connection pool per peer
	transportTimeout   = 10 * time.Second // I/O deadline of raft's RPCs
	logCacheSize       = 1024             // recent entries cached in front of BoltDB
	leaderWaitInterval = 10 * time.Millisecond
)

// node is one raft server and what it owns.
type node struct {
	id    raft.ServerID
	raft  *raft.Raft
	fsm   *countFSM
	trans *raft.NetworkTransport
	bolt  *raftboltdb.BoltStore // nil with the in-memory store
}

// cluster is an n-node raft cluster in this process over loopback TCP.
type cluster struct {
	nodes []*node
	dir   string // the data directory raftcompare created, or ""
}

// startCluster starts an n-node cluster with the store flags ask for
// ("mem" or "bolt", the latter under a new directory in parent, which
// Close removes) and waits, until ctx ends, for a leader. The caller must
// Close it.
func startCluster(ctx context.Context, f flags, logger hclog.Logger) (*cluster, error) {
	c := &cluster{}
	if f.store == "bolt" {
		parent := f.data
		if parent == "" {
			parent = os.TempDir()
		}
		dir, err := os.MkdirTemp(parent, "raftcompare-")
		if err != nil {
			return nil, fmt.Errorf("raft cluster: %w", err)
		}
		c.dir = dir
	}
	if err := c.start(ctx, f, logger); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *cluster) start(ctx context.Context, f flags, logger hclog.Logger) error {
	// Transports first: every node's configuration names every address.
	var servers []raft.Server
	for i := range f.nodes {
		trans, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, transportMaxPool, transportTimeout, logger)
		if err != nil {
			return fmt.Errorf("raft cluster: transport: %w", err)
		}
		n := &node{id: raft.ServerID(fmt.Sprintf("r%d", i+1)), trans: trans, fsm: &countFSM{}}
		c.nodes = append(c.nodes, n)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: n.id, Address: trans.LocalAddr()})
	}
	for _, n := range c.nodes {
		if err := n.start(f, c.dir, raft.Configuration{Servers: servers}, logger); err != nil {
			return err
		}
	}
	return c.waitLeader(ctx)
}

// start opens the node's stores and starts its raft server, bootstrapped
// with the cluster's configuration.
func (n *node) start(f flags, dir string, conf raft.Configuration, logger hclog.Logger) error {
	cfg := raft.DefaultConfig()
	cfg.LocalID = n.id
	cfg.Logger = logger.Named(string(n.id))
	cfg.BatchApplyCh = true
	cfg.MaxAppendEntries = f.maxAppendEntries
	cfg.NoSnapshotRestoreOnStart = true

	var logs raft.LogStore
	var stable raft.StableStore
	if dir == "" {
		st := raft.NewInmemStore()
		logs, stable = st, st
	} else {
		path := filepath.Join(dir, string(n.id)+".db")
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: path}) // NoSync false: fsync every batch
		if err != nil {
			return fmt.Errorf("raft node %s: open %s: %w", n.id, path, err)
		}
		n.bolt = bolt
		cache, err := raft.NewLogCache(logCacheSize, bolt)
		if err != nil {
			return fmt.Errorf("raft node %s: log cache: %w", n.id, err)
		}
		logs, stable = cache, bolt
	}
	snaps := raft.NewDiscardSnapshotStore()
	if err := raft.BootstrapCluster(cfg, logs, stable, snaps, n.trans, conf); err != nil {
		return fmt.Errorf("raft node %s: bootstrap: %w", n.id, err)
	}
	r, err := raft.NewRaft(cfg, n.fsm, logs, stable, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("raft node %s: %w", n.id, err)
	}
	n.raft = r
	return nil
}

// waitLeader polls until some node is leader or ctx ends.
func (c *cluster) waitLeader(ctx context.Context) error {
	ticker := time.NewTicker(leaderWaitInterval)
	defer ticker.Stop()
	for {
		if c.leader() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("raft cluster: wait for a leader: %w", ctx.Err())
		case <-ticker.C:
		}
	}
}

// leader returns the node that is leader now, or nil.
func (c *cluster) leader() *node {
	for _, n := range c.nodes {
		if n.raft != nil && n.raft.State() == raft.Leader {
			return n
		}
	}
	return nil
}

// Close shuts every node down, closes the stores and transports and
// removes the data directory raftcompare created.
func (c *cluster) Close() error {
	var errs []error
	for _, n := range c.nodes {
		if n.raft != nil {
			if err := n.raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("raft node %s: shutdown: %w", n.id, err))
			}
		}
	}
	for _, n := range c.nodes {
		if err := n.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft node %s: close transport: %w", n.id, err))
		}
		if n.bolt != nil {
			if err := n.bolt.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft node %s: close store: %w", n.id, err))
			}
		}
	}
	c.nodes = nil
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("raft cluster: remove data: %w", err))
		}
		c.dir = ""
	}
	return errors.Join(errs...)
}
