package chain

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/wire"
)

// Client submits commands to a chain's head, takes replies from its tail,
// and reads from the tail. It retries lost and refused requests on its own;
// a retried command keeps its sequence number, so the chain applies it once
// and answers the retry with the first result. A Client is safe for
// concurrent use; every call honours its context's cancellation and
// deadline.
type Client struct {
	opts  options
	ep    Endpoint
	slots chan struct{} // bounds requests in flight
	done  chan struct{} // closed by Close
	wg    sync.WaitGroup
	out   *outbox // requests of concurrent calls, sent together

	// metrics times the calls, for Collector.
	metrics *clientMetrics
	// guard refuses messages the sender's identity does not allow.
	guard auth.Guard

	// stopFlusher ends the flusher's context, in which it sends.
	stopFlusher context.CancelFunc

	sess clientSession // the de-duplication session of its writes

	// busy (capacity 1) wakes the retry scanner when calls are waiting.
	busy chan struct{}
	// idleCalls keeps finished calls for reuse, with their channels.
	idleCalls sync.Pool

	mu       sync.Mutex
	cfg      Config
	head     string
	tail     string
	calls    map[uint64]*call
	nextID   uint64
	lowWater uint64 // every write below it has been answered or abandoned
	closed   bool
	askedAt  time.Time // when the configuration was last asked for (refreshConfig)
}

// NewClient creates a client. WithTransport and WithConfig are required.
func NewClient(opts ...ClientOption) (*Client, error) {
	o, err := buildClientOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	if o.transport == nil {
		return nil, fmt.Errorf("new client: %w: no transport (use WithTransport)", ErrInvalidConfig)
	}
	if o.config == nil && len(o.masters) == 0 {
		return nil, fmt.Errorf("new client: %w: no configuration (use WithConfig or WithMaster)", ErrInvalidConfig)
	}
	cfg := Config{}
	if o.config != nil {
		if err := o.config.Validate(); err != nil {
			return nil, fmt.Errorf("new client: %w", err)
		}
		cfg = *o.config
	}
	ep, err := o.transport.Listen("")
	if err != nil {
		return nil, fmt.Errorf("new client: listen: %w", err)
	}
	c := &Client{
		opts:     o,
		ep:       ep,
		slots:    make(chan struct{}, o.maxInflight),
		done:     make(chan struct{}),
		cfg:      cfg,
		head:     headAddr(cfg),
		tail:     tailAddr(cfg),
		calls:    make(map[uint64]*call),
		nextID:   1,
		lowWater: 1,
		out:      newOutbox(o.maxBatchBytes),
		busy:     make(chan struct{}, 1),
		metrics:  newClientMetrics(),
		guard:    auth.Guard{Log: o.logger, Receiver: "client"},
	}
	flushCtx, stopFlusher := context.WithCancel(context.Background())
	c.stopFlusher = stopFlusher
	c.wg.Add(3)
	go c.receive()
	go c.runFlusher(flushCtx)
	go c.runRetries()
	c.refreshConfig(false)
	return c, nil
}

// Addr returns the client's address, which is also its identity for
// de-duplication.
func (c *Client) Addr() string { return c.ep.Addr() }

// Close stops the client; calls in progress return ErrClosed. It is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	for _, cl := range c.calls {
		cl.signal()
	}
	c.mu.Unlock()
	c.stopFlusher()
	err := c.ep.Close()
	c.wg.Wait()
	if err != nil {
		return fmt.Errorf("close client: %w", err)
	}
	return nil
}

// Append writes data as a raw log entry and returns its offset once it is
// committed.
func (c *Client) Append(ctx context.Context, data []byte) (uint64, error) {
	resp, err := c.do(ctx, &wire.ClientRequest{Op: wire.OpAppend, Data: data})
	if err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	return resp.Offset, nil
}

// Do runs the command name with data through the chain and returns the
// result of its handler at the tail. The command is applied exactly once,
// even when the client retried it, unless the call returns a context error,
// in which case it was applied once or not at all.
func (c *Client) Do(ctx context.Context, name string, data []byte) ([]byte, error) {
	res, err := c.Submit(ctx, name, data)
	return res.Data, err
}

// Result is the outcome of a command.
type Result struct {
	// Offset is the offset of the command's entry in the log; every node
	// has applied the command once it has applied this offset.
	Offset uint64
	// Data is the handler's result.
	Data []byte
}

// Submit runs a command as Do does and also returns the offset of its
// entry in the log.
func (c *Client) Submit(ctx context.Context, name string, data []byte) (Result, error) {
	if name == "" {
		return Result{}, fmt.Errorf("do: %w: empty command name", ErrInvalidArgument)
	}
	resp, err := c.do(ctx, &wire.ClientRequest{Op: wire.OpCommand, Name: name, Data: data})
	if err != nil {
		return Result{}, fmt.Errorf("do %q: %w", name, err)
	}
	return Result{Offset: resp.Offset, Data: resp.Result}, nil
}

// Query runs the query name against the tail's state. It sees every command
// acknowledged before it was called (queries are linearizable).
func (c *Client) Query(ctx context.Context, name string, query []byte) ([]byte, error) {
	if name == "" {
		return nil, fmt.Errorf("query: %w: empty query name", ErrInvalidArgument)
	}
	resp, err := c.do(ctx, &wire.ClientRequest{Op: wire.OpQuery, Name: name, Data: query})
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", name, err)
	}
	return resp.Result, nil
}

// Read returns up to max committed entries from offset from, read at the
// tail; none when from is beyond the commit point. The tail may return fewer
// than max to bound the response size.
func (c *Client) Read(ctx context.Context, from uint64, max int) ([]Entry, error) {
	if from == 0 || max <= 0 {
		return nil, fmt.Errorf("read: %w: need from >= 1 and max >= 1", ErrInvalidArgument)
	}
	resp, err := c.do(ctx, &wire.ClientRequest{Op: wire.OpRead, From: from, Max: max})
	if err != nil {
		return nil, fmt.Errorf("read from %d: %w", from, err)
	}
	return resp.Entries, nil
}

// Latest returns the chain's commit point, the offset of the last committed
// entry (0 when none is).
func (c *Client) Latest(ctx context.Context) (uint64, error) {
	resp, err := c.do(ctx, &wire.ClientRequest{Op: wire.OpLatest})
	if err != nil {
		return 0, fmt.Errorf("latest: %w", err)
	}
	return resp.Offset, nil
}

// Status asks the node at addr for its status. It retries until the node
// answers or ctx ends.
func (c *Client) Status(ctx context.Context, addr string) (*NodeStatus, error) {
	if addr == "" {
		return nil, fmt.Errorf("status: %w: empty address", ErrInvalidArgument)
	}
	resp, err := c.call(ctx, &wire.ClientRequest{Op: wire.OpStatus}, addr)
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", addr, err)
	}
	if resp.Status == nil {
		return nil, fmt.Errorf("status of %s: %w: empty status", addr, ErrInvalidArgument)
	}
	return resp.Status, nil
}

// Config returns the configuration the client knows.
func (c *Client) Config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Clone()
}

// do sends req and retries it until a final response, ctx ends or the
// client closes. Writes go to the head, everything else to the tail.
func (c *Client) do(ctx context.Context, req *wire.ClientRequest) (*wire.ClientResponse, error) {
	if len(req.Data) > c.opts.maxEntrySize {
		return nil, fmt.Errorf("%w: a %d-byte payload exceeds the max entry size, %d bytes (WithMaxEntrySize)",
			ErrTooLarge, len(req.Data), c.opts.maxEntrySize)
	}
	start := time.Now()
	resp, err := c.call(ctx, req, "")
	c.metrics.observe(req.Op, err, start)
	return resp, err
}

// call is do with an explicit destination; an empty target means the head
// for writes and the tail otherwise. It sends at once, and again when the
// retry scanner finds the request unanswered after the retry interval
// (doubling up to the maximum), when a redirect names a new node, or, after
// a refusal that may pass, at the next retry time.
func (c *Client) call(ctx context.Context, req *wire.ClientRequest, target string) (*wire.ClientResponse, error) {
	if isWrite(req.Op) && req.Session == 0 {
		s, err := c.sessionFor(ctx)
		if err != nil {
			return nil, err
		}
		req.Session, req.Since = s.id, s.since
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, ErrClosed
	}
	write := isWrite(req.Op)
	cl, err := c.register(write)
	if err != nil {
		return nil, err
	}
	defer c.unregister(cl)
	req.ID = cl.id

	backoff := c.opts.retryInterval
	if err := c.send(ctx, req, cl, target, backoff); err != nil {
		return nil, err
	}
	var lastErr error
	restart := false // the next retry starts the backoff again (see nextBackoff)
	for {
		select {
		case <-cl.wake:
		case <-ctx.Done():
			if lastErr != nil {
				return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
			}
			return nil, ctx.Err()
		}
		resp, retry, newConfig, closed := c.take(cl)
		if closed {
			return nil, ErrClosed
		}
		if resp != nil {
			if resp.Err == nil {
				return resp, nil
			}
			if !retryable(resp.Err) {
				if resp.Err.Code == wire.CodeSessionExpired || resp.Err.Code == wire.CodeTooManySessions {
					c.sessionGone(req.Session)
				}
				return nil, resp.Err
			}
			lastErr = resp.Err
			c.onRefusal(resp.Err)
			restart = restart || nodeBehind(resp.Err, req.Epoch)
			// A redirect names a new node: go there now. Otherwise (busy,
			// stopped, stale epoch) the retry time is the backoff, or
			// sooner if a new configuration comes.
			retry = retry || c.follow(resp.Err)
		}
		if retry {
			backoff = nextBackoff(backoff, c.opts.retryInterval, c.opts.maxRetryInterval, newConfig || restart)
			restart = false
			if err := c.send(ctx, req, cl, target, backoff); err != nil {
				return nil, err
			}
		}
	}
}

// onRefusal acts on what a retryable refusal says of the configuration:
// a node that stopped, or one that holds another epoch, sends the client
// for the current configuration, and a node of a later epoch than the
// client's has the members asked for theirs (see refreshConfig).
func (c *Client) onRefusal(err *RemoteError) {
	if err.Code != wire.CodeStaleEpoch && err.Code != wire.CodeClosed {
		return
	}
	c.mu.Lock()
	ahead := err.Code == wire.CodeStaleEpoch && err.Epoch > c.cfg.Epoch
	c.mu.Unlock()
	c.refreshConfig(ahead)
}

// retryable reports whether a refusal may succeed if the request is sent
// again, later or elsewhere.
func retryable(err *RemoteError) bool {
	switch err.Code {
	case wire.CodeNotHead, wire.CodeNotTail, wire.CodeBusy, wire.CodeClosed, wire.CodeStaleEpoch:
		return true
	}
	return false
}

// follow updates the head or tail from a redirect; it reports whether the
// target changed. A new tail is probed, so that it can reach the client
// with replies (see probe).
func (c *Client) follow(err *RemoteError) bool {
	if err.Redirect == "" {
		return false
	}
	c.mu.Lock()
	target := &c.tail
	if err.Code == wire.CodeNotHead {
		target = &c.head
	}
	changed := *target != err.Redirect
	*target = err.Redirect
	c.mu.Unlock()
	if changed && err.Code == wire.CodeNotTail {
		c.probe(err.Redirect)
	}
	return changed
}

// send stamps req with the current epoch and acknowledged mark, sets cl's
// retry time to retryIn from now, and sends req to target, or else to the
// head (writes) or the tail. The only call in flight sends at once; with
// others in flight, the request joins theirs in the outbox.
func (c *Client) send(ctx context.Context, req *wire.ClientRequest, cl *call, target string, retryIn time.Duration) error {
	write := cl.write
	c.mu.Lock()
	cl.retryAt = time.Now().Add(retryIn)
	to := c.tail
	if write {
		to = c.head
		req.Acked = c.ackedLocked()
	}
	if target != "" {
		to = target
	}
	if to == "" {
		c.mu.Unlock()
		return nil // no configuration yet: the retry scanner tries again
	}
	req.Epoch = c.cfg.Epoch
	alone := len(c.calls) == 1
	c.mu.Unlock()
	if !alone {
		c.out.add(to, req)
		return nil
	}
	// The transport may keep req until delivery, so each send gets a copy.
	msg := *req
	if err := c.ep.Send(ctx, to, &msg); err != nil {
		if errors.Is(err, ErrClosed) {
			return ErrClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A failed send is a lost message: the retry scanner resends.
	}
	return nil
}

// newSession draws a client's random identity; never zero.
func newSession() uint64 {
	for {
		if s := rand.Uint64(); s != 0 {
			return s
		}
	}
}

// register allocates a request id and its waiting call.
func (c *Client) register(write bool) (*call, error) {
	cl, _ := c.idleCalls.Get().(*call)
	if cl == nil {
		cl = &call{wake: make(chan struct{}, 1)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	cl.id, cl.write = c.nextID, write
	c.nextID++
	c.calls[cl.id] = cl
	if len(c.calls) == 1 {
		select {
		case c.busy <- struct{}{}:
		default:
		}
	}
	return cl, nil
}

// unregister forgets cl and keeps it for reuse: once it is out of the
// table nothing else reaches it.
func (c *Client) unregister(cl *call) {
	c.mu.Lock()
	delete(c.calls, cl.id)
	c.mu.Unlock()
	cl.reset()
	c.idleCalls.Put(cl)
}

// take returns, and clears, what woke cl: its response, whether its retry
// time passed, whether that is because a new configuration came, and
// whether the client closed.
func (c *Client) take(cl *call) (resp *wire.ClientResponse, retry, newConfig, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, retry, newConfig = cl.resp, cl.retry, cl.newConfig
	cl.resp, cl.retry, cl.newConfig = nil, false, false
	return resp, retry, newConfig, c.closed
}

// ackedLocked returns the lowest id of a write still waiting: every write
// below it has been answered (or abandoned by its caller), so the chain may
// forget their results. c.mu must be held.
func (c *Client) ackedLocked() uint64 {
	for c.lowWater < c.nextID {
		if cl, ok := c.calls[c.lowWater]; ok && cl.write {
			break
		}
		c.lowWater++
	}
	return c.lowWater
}

// receive routes responses to their calls until the endpoint closes.
func (c *Client) receive() {
	defer c.wg.Done()
	for in := range c.ep.Receive() {
		if !c.guard.Admit(in.From, in.Msg, in.Peer) {
			continue
		}
		if u, ok := in.Msg.(*wire.ConfigUpdate); ok {
			if slices.Contains(c.opts.masters, in.From) && u.Chain == c.opts.chainID {
				c.adopt(u.Config)
			}
			continue
		}
		switch m := in.Msg.(type) {
		case *wire.ClientResponse:
			c.deliver(m)
		case *wire.ResponseBatch:
			resps := make([]*wire.ClientResponse, len(m.Responses))
			for i := range m.Responses {
				resps[i] = &m.Responses[i]
			}
			c.deliver(resps...)
		}
	}
}

// deliver hands each response to the call waiting for it, and the
// configuration in the answer to a probe to adopt.
func (c *Client) deliver(resps ...*wire.ClientResponse) {
	for _, resp := range resps {
		if resp.ID == probeID && resp.Status != nil {
			c.adopt(statusConfig(resp.Status))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, resp := range resps {
		cl := c.calls[resp.ID]
		if cl == nil || cl.resp != nil {
			continue // a late or duplicate response, or one already waiting
		}
		cl.resp = resp
		cl.stuck = cl.stuck || (resp.Err != nil && retryable(resp.Err))
		cl.signal()
	}
}
