package launch

import (
	"log/slog"
	"path/filepath"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/server"
	"github.com/chainrep/chain/wire"
)

// ServerConfig describes one server of a partitioned cluster a program
// runs: a process that hosts the replicas the masters place on it, each
// running the key-value store.
type ServerConfig struct {
	// ID names the server; its replicas are "ID/chain".
	ID string
	// Addr is where it listens, as the masters and the other servers
	// reach it.
	Addr string
	// Masters are the addresses of the master group.
	Masters   []string
	Transport chain.Transport
	// DataDir is where the server keeps one Pebble storage per replica,
	// under DataDir/<chain id>; empty means memory (a restarted server
	// then rejoins its chains as new replicas).
	DataDir string
	// NoSync turns off fsync on the Pebble storages (benchmarks only).
	NoSync bool
	Logger *slog.Logger
	// NodeOptions are added to every replica's options.
	NodeOptions []chain.NodeOption
}

// StartServer starts a server whose replicas run the key-value store,
// on Pebble under DataDir or in memory.
func StartServer(sc ServerConfig) (*server.Server, error) {
	opts := server.Options{
		ID: sc.ID, Addr: sc.Addr, Transport: sc.Transport, Masters: sc.Masters,
		Logger: sc.Logger, NodeOptions: sc.NodeOptions,
		Setup: func(_ wire.Replica, n *chain.Node) error { return kv.New().Register(n) },
	}
	if sc.DataDir != "" {
		opts.DurableStorage = true
		opts.OpenStorage = func(r wire.Replica) (chain.Storage, error) {
			return OpenStorage(filepath.Join(sc.DataDir, r.Chain), sc.NoSync)
		}
	}
	return server.Start(opts)
}
