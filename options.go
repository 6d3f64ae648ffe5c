package chain

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/chainrep/chain/wire"
)

// NodeOption configures a Node: pass it to NewNode.
type NodeOption interface{ applyToNode(*options) }

// ClientOption configures a Client: pass it to NewClient.
type ClientOption interface{ applyToClient(*options) }

// Option configures a Node or a Client alike: it is both a NodeOption and
// a ClientOption. Options that concern only one of them are of that one's
// type, so passing one to the other constructor does not compile.
type Option interface {
	NodeOption
	ClientOption
}

// nodeOption is an option of nodes only.
type nodeOption func(*options)

func (f nodeOption) applyToNode(o *options) { f(o) }

// clientOption is an option of clients only.
type clientOption func(*options)

func (f clientOption) applyToClient(o *options) { f(o) }

// sharedOption is an option of nodes and clients alike.
type sharedOption func(*options)

func (f sharedOption) applyToNode(o *options) { f(o) }

func (f sharedOption) applyToClient(o *options) { f(o) }

// options holds every setting of nodes and clients; a node reads only
// what NodeOptions set, a client only what ClientOptions set.
type options struct {
	transport Transport
	storage   Storage
	config    *Config
	logger    *slog.Logger

	// Node settings.
	maxEntrySize     int
	maxBatchBytes    int
	maxInflightBytes int
	maxPendingWrites int
	maxPerClient     int // 0: maxPendingWrites/2
	pollInterval     time.Duration
	queryWorkers     int
	maxSessions      int
	sessionExpiry    time.Duration
	applyObserver    func(Entry)
	masters          []string // the masters' addresses; none for a static configuration
	addr             string   // where the node listens when it is not in the configuration
	chainID          string   // the chain the master manages the node (or client) under
	heartbeatEvery   time.Duration

	// Client settings.
	retryInterval    time.Duration
	maxRetryInterval time.Duration
	maxInflight      int
}

// Defaults.
const (
	DefaultMaxEntrySize     = 1 << 20
	DefaultMaxBatchBytes    = 1 << 20
	DefaultMaxInflightBytes = 64 << 20
	DefaultMaxPendingWrites = 8192
	DefaultPollInterval     = 100 * time.Millisecond
	DefaultQueryWorkers     = 4
	DefaultMaxSessions      = 100_000
	DefaultSessionExpiry    = 10 * time.Minute
	DefaultRetryInterval    = 50 * time.Millisecond
	DefaultMaxRetryInterval = time.Second
	DefaultMaxInflight      = 1024
	// DefaultHeartbeatInterval is how often a node heartbeats to the master
	// until the master says otherwise.
	DefaultHeartbeatInterval = 100 * time.Millisecond
)

func defaultOptions() options {
	return options{
		logger:           slog.New(slog.DiscardHandler),
		maxEntrySize:     DefaultMaxEntrySize,
		maxBatchBytes:    DefaultMaxBatchBytes,
		maxInflightBytes: DefaultMaxInflightBytes,
		maxPendingWrites: DefaultMaxPendingWrites,
		pollInterval:     DefaultPollInterval,
		queryWorkers:     DefaultQueryWorkers,
		maxSessions:      DefaultMaxSessions,
		sessionExpiry:    DefaultSessionExpiry,
		retryInterval:    DefaultRetryInterval,
		maxRetryInterval: DefaultMaxRetryInterval,
		maxInflight:      DefaultMaxInflight,
		heartbeatEvery:   DefaultHeartbeatInterval,
	}
}

// buildNodeOptions applies opts over the defaults and validates the
// node's settings.
func buildNodeOptions(opts []NodeOption) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.applyToNode(&o)
		}
	}
	return o, o.validate(o.sharedChecks(), o.nodeChecks())
}

// buildClientOptions applies opts over the defaults and validates the
// client's settings.
func buildClientOptions(opts []ClientOption) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.applyToClient(&o)
		}
	}
	return o, o.validate(o.sharedChecks(), o.clientChecks())
}

// check is one validation rule: what must hold, said as a sentence.
type check struct {
	ok   bool
	what string
}

// validate returns an ErrInvalidConfig error naming the first rule that
// does not hold, or nil.
func (o *options) validate(groups ...[]check) error {
	for _, checks := range groups {
		for _, c := range checks {
			if !c.ok {
				return fmt.Errorf("%w: %s", ErrInvalidConfig, c.what)
			}
		}
	}
	return nil
}

// sharedChecks are the rules of the settings nodes and clients share.
func (o *options) sharedChecks() []check {
	return []check{
		{o.maxBatchBytes > 0, "max batch bytes must be positive"},
		{o.maxBatchBytes <= wire.MaxMessageSize/2, fmt.Sprintf("max batch bytes must be at most %d (half the message size limit)", wire.MaxMessageSize/2)},
		{!slices.Contains(o.masters, ""), "master addresses must not be empty"},
		{o.maxEntrySize > 0, "max entry size must be positive"},
		{o.logger != nil, "logger must not be nil"},
	}
}

// nodeChecks are the rules of the node's own settings.
func (o *options) nodeChecks() []check {
	return []check{
		{o.maxBatchBytes >= o.maxEntrySize, "max batch bytes must be at least the max entry size"},
		{o.maxInflightBytes >= o.maxBatchBytes, "max in-flight bytes must be at least the max batch bytes"},
		{o.maxPendingWrites > 0, "max pending writes must be positive"},
		{o.maxPerClient >= 0, "max pending requests per client must not be negative"},
		{o.pollInterval > 0, "poll interval must be positive"},
		{o.queryWorkers > 0, "query workers must be positive"},
		{o.maxSessions > 0, "max sessions must be positive"},
		{o.sessionExpiry > 0, "session expiry must be positive"},
	}
}

// clientChecks are the rules of the client's own settings.
func (o *options) clientChecks() []check {
	return []check{
		{o.retryInterval > 0, "retry interval must be positive"},
		{o.maxRetryInterval >= o.retryInterval, "max retry interval must be at least the retry interval"},
		{o.maxInflight > 0, "max in-flight requests must be positive"},
		{o.maxInflight <= maxResultsPerSession, fmt.Sprintf("max in-flight requests must be at most %d", maxResultsPerSession)},
	}
}

// WithTransport sets the transport, for NewNode and NewClient (required by
// both).
func WithTransport(t Transport) Option { return sharedOption(func(o *options) { o.transport = t }) }

// WithStorage sets the node's storage, for NewNode (required). The node
// does not close it: the caller owns it, and may start a new node on it
// after the old one is closed.
func WithStorage(s Storage) NodeOption { return nodeOption(func(o *options) { o.storage = s }) }

// WithConfig sets a static chain configuration, for NewNode and NewClient
// (required by both unless WithMaster is given).
func WithConfig(c Config) Option {
	return sharedOption(func(o *options) { cc := c.Clone(); o.config = &cc })
}

// WithLogger sets the structured logger, for NewNode and NewClient (a
// client logs only the messages it refuses from unauthorized peers); the
// default discards.
func WithLogger(l *slog.Logger) Option { return sharedOption(func(o *options) { o.logger = l }) }

// WithMaxEntrySize bounds the payload of one entry, query or result, in
// bytes, for NewNode and NewClient. A node refuses larger writes and
// queries with ErrTooLarge; a client refuses them at once, before sending
// anything, so give clients the bound their nodes have (the default is the
// same on both, DefaultMaxEntrySize).
func WithMaxEntrySize(n int) Option { return sharedOption(func(o *options) { o.maxEntrySize = n }) }

// WithMaxBatchBytes, for NewNode and NewClient, bounds for a node the
// bytes of entries the head appends in one storage write and a node sends
// in one pull response (at least the max entry size), and for a client the
// payload bytes of the requests it sends together in one wire.RequestBatch.
func WithMaxBatchBytes(n int) Option { return sharedOption(func(o *options) { o.maxBatchBytes = n }) }

// WithMaxInflightBytes bounds the bytes of entries the head has ordered but
// not yet seen committed, for NewNode. While the bound is reached the head
// orders nothing new and its queue fills.
func WithMaxInflightBytes(n int) NodeOption {
	return nodeOption(func(o *options) { o.maxInflightBytes = n })
}

// WithMaxPendingWrites bounds the head's queue of writes waiting to be
// ordered, for NewNode. A write arriving at a full queue is refused with
// ErrBusy.
func WithMaxPendingWrites(n int) NodeOption {
	return nodeOption(func(o *options) { o.maxPendingWrites = n })
}

// WithMaxPendingPerClient bounds the client requests one sender (a
// client's address: one connection under TCP) may have queued at the
// node, writes at the head and reads at the tail, for NewNode; a request
// beyond it is refused with ErrBusy, counted in Stats.OverQuota and
// logged (at most once a second). Zero, the default, means half of
// WithMaxPendingWrites, so that one connection cannot fill the queues
// every client shares.
func WithMaxPendingPerClient(n int) NodeOption {
	return nodeOption(func(o *options) { o.maxPerClient = n })
}

// pendingPerClient is the bound WithMaxPendingPerClient sets.
func (o *options) pendingPerClient() int {
	if o.maxPerClient > 0 {
		return o.maxPerClient
	}
	return max(1, o.maxPendingWrites/2)
}

// WithPollInterval sets how long a node holds a pull with nothing new before
// answering it empty, for NewNode; pulls also serve as the link's liveness
// check. Under a master the node uses at most an eighth of the master's
// failure timeout (its link timeout, wire.ConfigUpdate.LinkTimeout), so
// that a working link never stays silent long enough to be taken for cut.
func WithPollInterval(d time.Duration) NodeOption {
	return nodeOption(func(o *options) { o.pollInterval = d })
}

// WithQueryWorkers sets how many queries and reads the tail runs at once,
// for NewNode.
func WithQueryWorkers(n int) NodeOption { return nodeOption(func(o *options) { o.queryWorkers = n }) }

// WithMaxSessions bounds how many de-duplication sessions (one per client
// run) the chain keeps, for NewNode. A client's first write starts its
// session; when the table is full, the session idle longest is forgotten
// if it has been idle for over the session expiry, and otherwise the write
// fails with ErrTooManySessions: a session in use is never forgotten. A
// command of a forgotten session fails with ErrSessionExpired, never
// applied twice. Every node of a chain must have the same setting.
func WithMaxSessions(n int) NodeOption { return nodeOption(func(o *options) { o.maxSessions = n }) }

// WithSessionExpiry sets how long a de-duplication session must have been
// idle, by the clocks of the heads that ordered the chain's entries,
// before a new session may take its place in a full table (see
// WithMaxSessions), for NewNode. Every node of a chain must have the same
// setting.
func WithSessionExpiry(d time.Duration) NodeOption {
	return nodeOption(func(o *options) { o.sessionExpiry = d })
}

// WithMaster makes a node or client follow the configuration master at one
// of addrs, for NewNode and NewClient: a node heartbeats to it, adopts the
// configurations it announces and stops serving when it loses contact with
// it for half the failure timeout (self-fencing); a client asks it for the
// configuration and follows changes. With several addresses, a node moves
// on to the next when the current one stops answering, and a client asks
// them all; a configuration counts only if its epoch is higher than the
// one held, so a master that is behind cannot take the chain back.
// WithConfig may still give the configuration to start with.
func WithMaster(addrs ...string) Option {
	return sharedOption(func(o *options) { o.masters = append([]string(nil), addrs...) })
}

// WithChain names the chain a node belongs to, or a client talks to,
// among the many a master of a partitioned cluster manages (see
// master.Options.Chains), for NewNode and NewClient: heartbeats and
// configuration requests carry it, and configurations of other chains are
// ignored. The default, "", is the chain of a master of one chain.
func WithChain(id string) Option { return sharedOption(func(o *options) { o.chainID = id }) }

// WithAddr sets the address a node listens on when it is not (yet) a
// member of its configuration, as a node that the master will add, for
// NewNode.
func WithAddr(addr string) NodeOption { return nodeOption(func(o *options) { o.addr = addr }) }

// WithApplyObserver sets a function the node calls after applying each
// committed entry whose command ran (duplicates that were answered from the
// de-duplication record are not passed), for NewNode. It runs on the
// applying goroutine and must not block, nor modify the entry's data.
func WithApplyObserver(f func(Entry)) NodeOption {
	return nodeOption(func(o *options) { o.applyObserver = f })
}

// WithRetryInterval sets the client's first retry delay, for NewClient;
// later retries of the same request back off exponentially up to max.
func WithRetryInterval(first, max time.Duration) ClientOption {
	return clientOption(func(o *options) { o.retryInterval, o.maxRetryInterval = first, max })
}

// WithMaxInflight bounds how many requests a client has outstanding, for
// NewClient; calls beyond it wait for a slot (or for their context).
func WithMaxInflight(n int) ClientOption { return clientOption(func(o *options) { o.maxInflight = n }) }
