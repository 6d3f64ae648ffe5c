package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/replica"

	"github.com/chainrep/chain/wire"
)

// CommandHandler applies one committed command to the application's state
// and returns the result for the client. It must be deterministic: given
// the same state and entry it returns the same result on every node. It
// must not modify e.Data, nor keep it after it returns: the node may share
// the entry with its replication to the next node.
//
// An error it returns is part of the command's outcome: the client receives
// a *RemoteError wrapping ErrCommandFailed that carries the error's text
// (not the error value: it crossed the network). A result larger than the
// node's maximum entry size is replaced by ErrTooLarge, and a panic is
// recovered and reported like an error, so the node keeps serving; the
// application state is then whatever the handler left it as, on every node
// alike. The context is cancelled when the node stops.
type CommandHandler func(ctx context.Context, e Entry) ([]byte, error)

// QueryHandler answers a query from the application's state without
// changing it. Its errors, oversized results and panics reach the client as
// for a CommandHandler.
type QueryHandler func(ctx context.Context, query []byte) ([]byte, error)

// Node is one replica of one chain. Its role (head, middle, tail) follows
// from its place in the configuration. Create it with NewNode, register
// handlers, then Start it; Close stops it.
//
// Command handlers run one at a time, in offset order, on every node; query
// handlers run on the tail, concurrently with each other but never while a
// command handler runs, so handlers may share state guarded only by that
// ordering.
type Node struct {
	id     string
	opts   options
	log    *Log
	logger *slog.Logger

	handlersMu sync.RWMutex
	commands   map[string]CommandHandler
	queries    map[string]QueryHandler

	cfg atomic.Pointer[nodeConfig]

	// stateMu serialises command handlers (writers) against query handlers
	// (readers).
	stateMu  sync.RWMutex
	sessions *sessionTable // guarded by stateMu

	applied        appliedMark
	flow           replica.Flow // head only: entries ordered but not yet committed
	ordered        orderedSet   // head only: commands in the log but not yet applied
	sessionCount   atomic.Int64 // sessions.len() after the last applied batch
	successorAcked successorAck // highest offset the successor acknowledged holding
	inflightBytes  atomic.Int64 // flow.Bytes(), for Stats
	counters       counters
	metrics        nodeMetrics  // histograms and refusals by reason, for Collector
	guard          auth.Guard   // refuses messages the sender's identity does not allow
	quota          *clientQuota // bounds each client's queued requests
	lifecycle      lifecycle

	startMu sync.Mutex // serialises Start and Close
	closed  bool       // guarded by startMu

	addr   string     // where the node listens
	roleMu sync.Mutex // serialises role changes
	role   *roleRun   // guarded by roleMu
	// handoffPending is set while a node that joined as the tail has not
	// yet caught up with what the old tail committed; until then it
	// commits nothing on its own and answers no reads.
	handoffPending atomic.Bool
	// completeAt is the epoch at which the node last knew itself a member
	// holding every committed entry (no handoff pending); 0 if never. The
	// heartbeat reports Complete when it is the node's current epoch.
	completeAt atomic.Uint64
	master     masterLink
	links      linkWatch // the health of its replication links (linkhealth.go)
	// incarnation identifies the node's storage (see loadIncarnation).
	incarnation uint64
	// standby is set once a leader master told the node it is a standby
	// node of its chain, kept on its storage (see noteStandby).
	standby atomic.Bool
	// placed is set once the node runs a role of the configuration it
	// holds: at once for a static chain; under a master, once the master
	// has confirmed its place after it started (see place.go).
	placed atomic.Bool
	// fenceCause says why the node is fenced, when it knows more than
	// that the master has not answered (nil or "": nothing more).
	fenceCause atomic.Pointer[string]
	// behindWarned is the master epoch last warned of as behind the node.
	behindWarned atomic.Uint64

	ep        Endpoint
	writes    chan pendingWrite       // head: writes waiting to be ordered
	reads     chan pendingRead        // tail: queries and reads waiting for a worker
	pulls     chan *wire.PullRequest  // latest pull from the successor
	pullResps chan *wire.PullResponse // responses from the predecessor
}

// nodeConfig is the configuration a node runs under and its place in it.
type nodeConfig struct {
	Config
	role Role
	pred string // predecessor's address, "" at the head
	succ string // successor's address, "" at the tail
}

func newNodeConfig(cfg Config, id string) *nodeConfig {
	nc := &nodeConfig{Config: cfg, role: cfg.Role(id)}
	if i := cfg.IndexOf(id); i >= 0 {
		if i > 0 {
			nc.pred = cfg.Members[i-1].Addr
		}
		if i < len(cfg.Members)-1 {
			nc.succ = cfg.Members[i+1].Addr
		} else if cfg.Joining != nil {
			nc.succ = cfg.Joining.Addr // the tail feeds the joining node
		}
	}
	if nc.role == RoleJoining {
		nc.pred = cfg.Tail().Addr
	}
	return nc
}

// NewNode creates the node id. WithTransport, WithStorage and WithConfig
// are required, and id must be a member of the configuration.
func NewNode(id string, opts ...NodeOption) (*Node, error) {
	o, err := buildNodeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("new node %q: %w", id, err)
	}
	switch {
	case id == "":
		return nil, fmt.Errorf("new node: %w: empty id", ErrInvalidArgument)
	case o.transport == nil:
		return nil, fmt.Errorf("new node %q: %w: no transport (use WithTransport)", id, ErrInvalidConfig)
	case o.storage == nil:
		return nil, fmt.Errorf("new node %q: %w: no storage (use WithStorage)", id, ErrInvalidConfig)
	case o.config == nil && len(o.masters) == 0:
		return nil, fmt.Errorf("new node %q: %w: no configuration (use WithConfig or WithMaster)", id, ErrInvalidConfig)
	}
	cfg := Config{}
	if o.config != nil {
		if err := o.config.Validate(); err != nil {
			return nil, fmt.Errorf("new node %q: %w", id, err)
		}
		cfg = *o.config
	}
	addr := o.addr
	if i := cfg.IndexOf(id); i >= 0 {
		addr = cfg.Members[i].Addr
	} else if cfg.Role(id) == RoleJoining {
		addr = cfg.Joining.Addr
	}
	switch {
	case len(o.masters) == 0 && cfg.Role(id) == RoleNone:
		return nil, fmt.Errorf("new node %q: %w: not a member of the configuration", id, ErrInvalidConfig)
	case addr == "":
		return nil, fmt.Errorf("new node %q: %w: no address (not in the configuration; use WithAddr)", id, ErrInvalidConfig)
	}
	n := &Node{
		id:        id,
		addr:      addr,
		opts:      o,
		logger:    o.logger.With("node", id),
		commands:  make(map[string]CommandHandler),
		queries:   make(map[string]QueryHandler),
		sessions:  newSessionTable(&o),
		writes:    make(chan pendingWrite, o.maxPendingWrites),
		reads:     make(chan pendingRead, o.maxPendingWrites),
		pulls:     make(chan *wire.PullRequest, 1),
		pullResps: make(chan *wire.PullResponse, 2*replica.StreamWindow),
	}
	n.cfg.Store(newNodeConfig(cfg, id))
	n.guard = auth.Guard{Log: n.logger, Receiver: "node " + id}
	n.quota = newClientQuota(o.pendingPerClient(), id, n.logger)
	n.metrics = newNodeMetrics(n.metricLabels())
	n.applied.init()
	n.ordered.init()
	n.master.init(o.heartbeatEvery)
	n.lifecycle.init()
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.id }

// Role returns the node's current role.
func (n *Node) Role() Role { return n.cfg.Load().role }

// Config returns a copy of the configuration the node runs under.
func (n *Node) Config() Config { return n.cfg.Load().Clone() }

// Log returns the node's log. It is nil before Start.
func (n *Node) Log() *Log { return n.log }

// Handle registers the handler of the command name. It must be called before
// Start, with the same handlers on every node of the chain.
func (n *Node) Handle(name string, h CommandHandler) error {
	if name == "" || h == nil {
		return fmt.Errorf("handle %q: %w: empty name or nil handler", name, ErrInvalidArgument)
	}
	return n.register(name, func() bool {
		_, dup := n.commands[name]
		n.commands[name] = h
		return dup
	})
}

// HandleQuery registers the handler of the query name. It must be called
// before Start.
func (n *Node) HandleQuery(name string, h QueryHandler) error {
	if name == "" || h == nil {
		return fmt.Errorf("handle query %q: %w: empty name or nil handler", name, ErrInvalidArgument)
	}
	return n.register(name, func() bool {
		_, dup := n.queries[name]
		n.queries[name] = h
		return dup
	})
}

func (n *Node) register(name string, add func() (duplicate bool)) error {
	n.handlersMu.Lock()
	defer n.handlersMu.Unlock()
	if n.lifecycle.started.Load() {
		return fmt.Errorf("register %q: %w", name, ErrStarted)
	}
	if add() {
		return fmt.Errorf("register %q: %w: registered twice", name, ErrInvalidArgument)
	}
	return nil
}

func (n *Node) commandHandler(name string) (CommandHandler, bool) {
	n.handlersMu.RLock()
	defer n.handlersMu.RUnlock()
	h, ok := n.commands[name]
	return h, ok
}

// registeredHandlers tells the admission rule which handlers the node has.
type registeredHandlers Node

func (h *registeredHandlers) HasCommand(name string) bool {
	_, ok := (*Node)(h).commandHandler(name)
	return ok
}

func (h *registeredHandlers) HasQuery(name string) bool {
	_, ok := (*Node)(h).queryHandler(name)
	return ok
}

func (n *Node) queryHandler(name string) (QueryHandler, bool) {
	n.handlersMu.RLock()
	defer n.handlersMu.RUnlock()
	h, ok := n.queries[name]
	return h, ok
}

// Start opens the node's endpoint, loads its log from storage and starts
// serving. The context bounds start-up only. A node starts once: after a
// failed Start, create a new node.
func (n *Node) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start node %q: %w", n.id, err)
	}
	n.startMu.Lock()
	defer n.startMu.Unlock()
	n.handlersMu.Lock()
	already := n.lifecycle.started.Swap(true)
	n.handlersMu.Unlock()
	if already {
		return fmt.Errorf("start node %q: %w", n.id, ErrStarted)
	}
	if err := n.lifecycle.err(); err != nil {
		return fmt.Errorf("start node %q: %w", n.id, err)
	}
	saved, err := loadCommit(n.opts.storage)
	if err != nil {
		return fmt.Errorf("start node %q: %w", n.id, err)
	}
	inc, fresh, incErr := loadIncarnation(n.opts.storage)
	if incErr != nil && !errors.Is(incErr, errSaveIncarnation) {
		return fmt.Errorf("start node %q: %w", n.id, incErr)
	}
	n.incarnation = inc
	standby, err := loadStandby(n.opts.storage)
	if err != nil {
		return fmt.Errorf("start node %q: %w", n.id, err)
	}
	n.standby.Store(standby)
	n.log = newLog(n.opts.storage)
	n.log.appendTime = n.metrics.storageAppend
	first := n.log.FirstOffset()
	n.applied.set(first - 1)

	nc := n.cfg.Load()
	// Under a master, a node takes no place in the configuration it
	// starts with until the master confirms it; a static chain's tail
	// serves what it holds (see replica.Transition).
	plan := replica.Transition(replica.Change{Old: RoleNone, New: nc.role, Starting: true,
		UnderMaster: len(n.opts.masters) > 0, HasSuccessor: nc.succ != ""})
	if plan.Unplaced {
		nc = unplaced()
		n.cfg.Store(nc)
	}
	n.placed.Store(!plan.Unplaced)
	n.handoffPending.Store(plan.CatchingUp)
	if plan.Complete {
		n.completeAt.Store(nc.Epoch)
	}
	// Entries committed before this start were answered by an earlier run
	// (or will be, on the client's retry); replaying them sends no reply.
	// A tail commits all it holds, and replies to what it newly commits.
	n.applied.replayedThrough = n.restoreCommit(saved, nc, plan.CatchingUp)
	if plan.RecoverInFlight {
		// Entries through the restored commit point are replayed (and
		// recorded in the session table) before the sequencer orders
		// anything; those above it are in flight until applied.
		if err := n.recoverOrdered(n.applied.replayedThrough + 1); err != nil {
			return fmt.Errorf("start node %q: %w", n.id, err)
		}
	}

	ep, err := n.opts.transport.Listen(n.addr)
	if err != nil {
		return fmt.Errorf("start node %q: listen: %w", n.id, err)
	}
	n.ep = ep
	n.logger.Info("node started", "role", n.Role().String(), "epoch", n.cfg.Load().Epoch,
		"first", first, "last", n.log.LastOffset(), "commit", n.log.CommitPoint(), "saved commit", saved,
		"incarnation", inc, "new storage", fresh, "awaiting the master", plan.Unplaced)

	if incErr != nil {
		// A failed write: the node stops serving (fail-stop), as it
		// would at its first append, and says why to whoever asks.
		n.fail(incErr)
	}
	n.lifecycle.spawn(n.runReceiver)
	n.lifecycle.spawn(n.runApplier)
	n.startRole(plan.Loops)
	if len(n.opts.masters) > 0 {
		n.lifecycle.spawn(n.runHeartbeats)
		n.lifecycle.spawn(n.runReconfigurer)
	}
	return nil
}

// Close stops the node and waits for its goroutines. It does not close the
// storage. Close is idempotent and safe to call concurrently with Start.
func (n *Node) Close() error {
	n.startMu.Lock()
	defer n.startMu.Unlock()
	n.lifecycle.halt(ErrClosed)
	n.lifecycle.cancelSend()
	if n.closed || n.ep == nil { // closed before, or never (fully) started
		n.closed = true
		return nil
	}
	n.closed = true
	err := n.ep.Close()
	n.lifecycle.wg.Wait()
	n.log.close()
	// A node that failed writes nothing more to its storage.
	if errors.Is(n.lifecycle.err(), ErrClosed) {
		if saveErr := n.saveCommit(); saveErr != nil {
			err = errors.Join(err, saveErr)
		}
	}
	if err != nil {
		return fmt.Errorf("close node %q: %w", n.id, err)
	}
	return nil
}

// WaitApplied blocks until the node has applied every committed entry
// through offset off to its handlers, ctx is done, or the node stops
// (ErrClosed). It must be called after Start.
func (n *Node) WaitApplied(ctx context.Context, off uint64) error {
	if n.log == nil {
		return fmt.Errorf("wait applied %d: %w", off, ErrNotStarted)
	}
	if !n.applied.wait(off, ctx.Done(), n.lifecycle.done()) {
		if ctx.Err() != nil {
			return fmt.Errorf("wait applied %d: %w", off, ctx.Err())
		}
		return fmt.Errorf("wait applied %d: %w", off, ErrClosed)
	}
	return nil
}

// Err returns why the node stopped serving: nil while it serves, ErrClosed
// after Close, or the storage error that made it stop (fail-stop).
func (n *Node) Err() error { return n.lifecycle.err() }

// fail stops the node from serving after an error it cannot recover from,
// such as a failed storage write, which must never be retried as if nothing
// happened.
func (n *Node) fail(err error) {
	if n.lifecycle.halt(err) {
		n.logger.Error("node stopped serving", "err", err)
	}
}

// send delivers msg to addr, logging a failure (the protocol retries).
func (n *Node) send(to string, msg Message) {
	if err := n.ep.Send(n.lifecycle.sendCtx, to, msg); err != nil && n.lifecycle.err() == nil {
		n.logger.Debug("send failed", "to", to, "kind", msg.Kind(), "err", err)
	}
}
