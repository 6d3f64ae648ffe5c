// Package server runs a server of a partitioned cluster: one process
// that hosts replicas of many chains over one transport endpoint.
//
// A master started with master.Options.Chains places replicas on the
// servers that report to it. A server beats to the master at the interval
// the master gives; the master's reply lists the replicas placed on it
// (members, joining and standby nodes of any chain), and the server starts
// a chain.Node for each one it does not run yet and stops those no longer
// listed. A replica of chain c is addressed wire.ReplicaAddr(server
// address, c): the server wraps its transport with transport/mux, so
// messages carry the chain they are for, and every replica shares the
// server's connections. Each node follows the masters like any node
// (chain.WithMaster, chain.WithChain): failure detection, reconfiguration
// and catching up are the chain's own.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/mux"
	"github.com/chainrep/chain/wire"
)

// Options configure a Server.
type Options struct {
	// ID names the server in the cluster; replicas on it are named
	// "ID/chain". Required; it must not contain "/".
	ID string
	// Addr is the address the server listens on, as the masters and the
	// other servers reach it. Required.
	Addr string
	// Transport is the base transport (tcp or inmem); the server wraps it
	// with transport/mux. Required.
	Transport chain.Transport
	// Masters are the addresses of the master group. Required.
	Masters []string
	// OpenStorage opens the storage of a replica. Nil: in memory.
	OpenStorage func(r wire.Replica) (chain.Storage, error)
	// DurableStorage reports that OpenStorage's storages keep a replica's
	// log across restarts of the server (Pebble on disk). Otherwise the
	// server tells the master that a restart lost its replicas' logs, and
	// they rejoin their chains as new nodes.
	DurableStorage bool
	// Setup, when set, is called on each replica's node before it starts:
	// register its command and query handlers there.
	Setup func(r wire.Replica, n *chain.Node) error
	// NodeOptions are added to every replica's options (after the ones
	// the server sets).
	NodeOptions []chain.NodeOption
	// BeatEvery is the interval between beats until the master gives
	// its own. Zero: 100ms.
	BeatEvery time.Duration
	Logger    *slog.Logger
}

// Server is a running server.
type Server struct {
	opts        Options
	log         *slog.Logger
	incarnation uint64 // random, chosen at Start
	tr          *mux.Transport
	ep          chain.Endpoint
	guard       auth.Guard // refuses messages the sender's identity does not allow

	mu       sync.Mutex
	replicas map[string]*replica // by member id
	closed   bool

	beatEvery time.Duration // guarded by mu
	current   int           // index of the master beats go to; guarded by mu
	answered  bool          // the current master answered since the last beat; guarded by mu

	updates chan *wire.ServerUpdate
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// replica is one running replica.
type replica struct {
	r    wire.Replica
	node *chain.Node
	st   chain.Storage
}

// Start starts a server: it listens, beats to the masters, and runs the
// replicas they place on it until Close.
func Start(opts Options) (*Server, error) {
	switch {
	case opts.ID == "" || opts.Addr == "" || opts.Transport == nil || len(opts.Masters) == 0:
		return nil, fmt.Errorf("start server: %w: id, address, transport and masters required", chain.ErrInvalidConfig)
	case strings.Contains(opts.ID, "/"):
		return nil, fmt.Errorf("start server %q: %w: the id must not contain /", opts.ID, chain.ErrInvalidConfig)
	}
	if opts.BeatEvery <= 0 {
		opts.BeatEvery = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OpenStorage == nil {
		opts.OpenStorage = func(wire.Replica) (chain.Storage, error) { return memory.New(), nil }
	}
	tr := mux.New(opts.Transport)
	ep, err := tr.Listen(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("start server %q: listen: %w", opts.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:        opts,
		log:         opts.Logger.With("server", opts.ID),
		tr:          tr,
		ep:          ep,
		replicas:    make(map[string]*replica),
		beatEvery:   opts.BeatEvery,
		incarnation: rand.Uint64() | 1,
		answered:    true,
		updates:     make(chan *wire.ServerUpdate, 1),
		cancel:      cancel,
	}
	s.guard = auth.Guard{Log: s.log, Receiver: "server " + opts.ID}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.receive() }()
	go func() { defer s.wg.Done(); s.beat(ctx) }()
	go func() { defer s.wg.Done(); s.reconcile(ctx) }()
	return s, nil
}

// Transport returns the server's multiplexing transport, on which clients
// in the same process may open endpoints.
func (s *Server) Transport() chain.Transport { return s.tr }

// ID returns the server's id.
func (s *Server) ID() string { return s.opts.ID }

// Node returns the server's running replica of chain id, or nil.
func (s *Server) Node(chainID string) *chain.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.replicas {
		if r.r.Chain == chainID {
			return r.node
		}
	}
	return nil
}

// Replicas returns the replicas the server runs, by chain id.
func (s *Server) Replicas() []wire.Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]wire.Replica, 0, len(s.replicas))
	for _, r := range s.replicas {
		out = append(out, r.r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Chain < out[j].Chain })
	return out
}

// Close stops the server and every replica it runs, and closes their
// storages.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.ep.Close()
	s.wg.Wait()
	s.mu.Lock()
	running := s.replicas
	s.replicas = map[string]*replica{}
	s.mu.Unlock()
	for _, r := range running {
		err = errors.Join(err, r.stop())
	}
	if err != nil {
		return fmt.Errorf("close server %q: %w", s.opts.ID, err)
	}
	return nil
}

// beat sends a ServerBeat to the current master at the interval, moving
// on to the next master when the current one did not answer.
func (s *Server) beat(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		if !s.answered && len(s.opts.Masters) > 1 {
			s.current = (s.current + 1) % len(s.opts.Masters)
		}
		s.answered = false
		to, every := s.opts.Masters[s.current], s.beatEvery
		s.mu.Unlock()
		sendCtx, cancel := context.WithTimeout(ctx, every)
		if err := s.ep.Send(sendCtx, to, &wire.ServerBeat{ID: s.opts.ID, Addr: s.opts.Addr,
			Incarnation: s.incarnation, Volatile: !s.opts.DurableStorage}); err != nil && ctx.Err() == nil {
			s.log.Debug("beat not sent", "to", to, "err", err)
		}
		cancel()
		timer.Reset(every)
	}
}

// receive takes the masters' replies until the endpoint closes. Under an
// authenticating transport only a master's are taken (auth.Authorize).
func (s *Server) receive() {
	for in := range s.ep.Receive() {
		if !s.guard.Admit(in.From, in.Msg, in.Peer) {
			continue
		}
		u, ok := in.Msg.(*wire.ServerUpdate)
		if !ok {
			continue
		}
		i := slices.Index(s.opts.Masters, in.From)
		if i < 0 {
			continue
		}
		s.mu.Lock()
		if u.HeartbeatEvery > 0 {
			s.beatEvery = u.HeartbeatEvery
		}
		switch {
		case !u.Follower:
			s.current, s.answered = i, true
		case u.Leader != "" && u.Leader != in.From:
			if j := slices.Index(s.opts.Masters, u.Leader); j >= 0 {
				s.current, s.answered = j, true
			}
		}
		s.mu.Unlock()
		if u.Follower {
			continue // only the leader's placement is acted on
		}
		select { // latest wins
		case <-s.updates:
		default:
		}
		s.updates <- u
	}
}

// reconcile starts and stops replicas to match the leader's placements.
func (s *Server) reconcile(ctx context.Context) {
	for {
		select {
		case u := <-s.updates:
			s.apply(ctx, u.Replicas)
		case <-ctx.Done():
			return
		}
	}
}

// apply starts the replicas of want not running and stops the running
// ones not in want.
func (s *Server) apply(ctx context.Context, want []wire.Replica) {
	wanted := make(map[string]wire.Replica, len(want))
	for _, r := range want {
		wanted[r.Member.ID] = r
	}
	s.mu.Lock()
	var stop []*replica
	for id, r := range s.replicas {
		if w, ok := wanted[id]; !ok || w.Chain != r.r.Chain {
			stop = append(stop, r)
			delete(s.replicas, id)
		}
	}
	var start []wire.Replica
	for id, r := range wanted {
		if _, ok := s.replicas[id]; !ok {
			start = append(start, r)
		}
	}
	s.mu.Unlock()
	for _, r := range stop {
		s.log.Info("stopping replica", "chain", r.r.Chain, "id", r.r.Member.ID)
		if err := r.stop(); err != nil {
			s.log.Error("stop replica", "chain", r.r.Chain, "err", err)
		}
	}
	sort.Slice(start, func(i, j int) bool { return start[i].Chain < start[j].Chain })
	for _, r := range start {
		if ctx.Err() != nil {
			return
		}
		rep, err := s.startReplica(ctx, r)
		if err != nil {
			s.log.Error("start replica", "chain", r.Chain, "id", r.Member.ID, "err", err)
			continue // the next update tries again
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = rep.stop()
			return
		}
		s.replicas[r.Member.ID] = rep
		s.mu.Unlock()
		s.log.Info("started replica", "chain", r.Chain, "id", r.Member.ID, "addr", r.Member.Addr)
	}
}

// startReplica opens the storage of r and starts its node.
func (s *Server) startReplica(ctx context.Context, r wire.Replica) (*replica, error) {
	if r.Member.Addr != wire.ReplicaAddr(s.opts.Addr, r.Chain) {
		return nil, fmt.Errorf("replica %s placed at %s, not at this server's %s: %w",
			r.Member.ID, r.Member.Addr, wire.ReplicaAddr(s.opts.Addr, r.Chain), chain.ErrInvalidConfig)
	}
	st, err := s.opts.OpenStorage(r)
	if err != nil {
		return nil, fmt.Errorf("open storage of %s: %w", r.Member.ID, err)
	}
	opts := []chain.NodeOption{
		chain.WithTransport(s.tr),
		chain.WithStorage(st),
		chain.WithAddr(r.Member.Addr),
		chain.WithMaster(s.opts.Masters...),
		chain.WithChain(r.Chain),
		chain.WithLogger(s.opts.Logger.With("chain", r.Chain)),
	}
	n, err := chain.NewNode(r.Member.ID, append(opts, s.opts.NodeOptions...)...)
	if err == nil && s.opts.Setup != nil {
		err = s.opts.Setup(r, n)
	}
	if err == nil {
		err = n.Start(ctx)
	}
	if err != nil {
		if n != nil {
			_ = n.Close()
		}
		return nil, errors.Join(fmt.Errorf("start node %s: %w", r.Member.ID, err), closeStorage(st))
	}
	return &replica{r: r, node: n, st: st}, nil
}

// stop closes the replica's node, then its storage.
func (r *replica) stop() error {
	return errors.Join(r.node.Close(), closeStorage(r.st))
}

func closeStorage(st chain.Storage) error {
	if err := st.Close(); err != nil {
		return fmt.Errorf("close storage: %w", err)
	}
	return nil
}

// Unauthorized returns the number of messages the server refused because
// their sender's verified identity may not send them (see package auth).
func (s *Server) Unauthorized() uint64 { return s.guard.Refused() }
