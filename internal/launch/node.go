package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/storage/pebble"
)

// NodeConfig describes one node a program runs.
type NodeConfig struct {
	ID string
	// Config is the chain's configuration, or the one to start with when
	// the node follows masters (Masters); it may then be left empty.
	Config chain.Config
	// Masters are the addresses of the configuration masters the node
	// follows (one, or a group's), or none for a static configuration.
	Masters []string
	// Addr is where the node listens when it is not in Config (a node the
	// master will add).
	Addr      string
	Transport chain.Transport
	// DataDir is where the node keeps a Pebble storage; empty means memory.
	DataDir string
	// NoSync turns off fsync on the Pebble storage (benchmarks only).
	NoSync bool
	Logger *slog.Logger
	// Options are added to the node's options.
	Options []chain.NodeOption
}

// Node is a running node, its storage and its key-value state.
type Node struct {
	*chain.Node
	Storage chain.Storage
	Store   *kv.Store
}

// StartNode opens the node's storage, registers the key-value store and
// starts the node. On error it closes what it opened.
func StartNode(ctx context.Context, nc NodeConfig) (*Node, error) {
	st, err := openStorage(nc)
	if err != nil {
		return nil, err
	}
	logger := nc.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []chain.NodeOption{chain.WithTransport(nc.Transport), chain.WithStorage(st), chain.WithLogger(logger)}
	if len(nc.Masters) == 0 || len(nc.Config.Members) > 0 {
		opts = append(opts, chain.WithConfig(nc.Config))
	}
	if len(nc.Masters) > 0 {
		opts = append(opts, chain.WithMaster(nc.Masters...))
	}
	if nc.Addr != "" {
		opts = append(opts, chain.WithAddr(nc.Addr))
	}
	opts = append(opts, nc.Options...)
	n, err := chain.NewNode(nc.ID, opts...)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	store := kv.New()
	if err := store.Register(n); err != nil {
		return nil, errors.Join(fmt.Errorf("register key-value store: %w", err), st.Close())
	}
	if err := n.Start(ctx); err != nil {
		return nil, errors.Join(err, n.Close(), st.Close())
	}
	return &Node{Node: n, Storage: st, Store: store}, nil
}

// Close stops the node and closes its storage.
func (n *Node) Close() error {
	return errors.Join(n.Node.Close(), n.Storage.Close())
}

func openStorage(nc NodeConfig) (chain.Storage, error) {
	if nc.DataDir == "" {
		return memory.New(), nil
	}
	return OpenStorage(filepath.Join(nc.DataDir, nc.ID), nc.NoSync)
}

// OpenStorage opens (or creates) a Pebble storage in dir, fsyncing its
// writes unless noSync.
func OpenStorage(dir string, noSync bool) (chain.Storage, error) {
	st, err := pebble.Open(dir, pebble.WithSync(!noSync))
	if err != nil {
		return nil, fmt.Errorf("open storage in %s: %w", dir, err)
	}
	return st, nil
}
