package chaintest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
)

// Bounds of a simulated run, in virtual time.
const (
	// invariantInterval is how often the invariants are checked.
	invariantInterval = 10 * time.Millisecond
	// maxThink bounds a client's pause between operations.
	maxThink = 20 * time.Millisecond
	// quietLatency bounds one call of a client once the cluster has
	// converged and nothing is faulty: no fault remains to wait out, so
	// only disk syncs take (virtual) time.
	quietLatency = 25 * time.Millisecond
)

// livenessBound is how long after the faults stop every node must serve
// and every call must have returned.
func (s *Schedule) livenessBound() time.Duration {
	return 10*time.Second + 10*s.FailureTimeout
}

// simRun is one schedule being run, in a synctest bubble.
type simRun struct {
	t       *testing.T
	s       *Schedule
	enabled FaultSet
	c       *Cluster     // a chain's cluster; nil for a partitioned one
	p       *Partitioned // a partitioned cluster; nil for a chain's
	net     *inmem.Network
	group   *masterGroup // nil for a static chain
	tl      *timeline
	cfg0    chain.Config // the initial configuration
	// histories are the chains' recorded histories: one for a Cluster,
	// one per chain of a Partitioned cluster.
	histories []*chainHistory
	// clientOf returns a new client of h's chain, of the given kind.
	clientOf func(h *chainHistory, kind ClientKind, opts ...chain.ClientOption) *chain.Client
	// deadline is when, since the start, every call must have returned.
	deadline time.Duration

	stopping  atomic.Bool  // the fault phase is over: clients issue nothing new
	performed atomic.Int64 // steps performed so far
	// deferRestarts makes restart leave the node down, for heal to
	// restart it in its turn.
	deferRestarts atomic.Bool
	clientWG      sync.WaitGroup // workload clients and the clients of fault steps
	nextID        atomic.Int64   // recorder client ids
	clients       []*simClient   // the workload clients of every chain

	mu         sync.Mutex
	disks      []*Disk
	violations []string
	tap        tapState
	cutMasters map[int]bool // masters cut off by a step
	cutServers cutOffs      // servers (nodes, in a chain) isolated or paused by a step
	// ruled counts the message rules in force by the address they name
	// (From or To; "" for a rule on every link).
	ruled map[string]int
	// checking (capacity 1) is held by a check of the invariants and by
	// a crash or restart, so that no check sees a node's incarnations
	// mixed. A channel, not a mutex: a goroutine waiting on a mutex would
	// stop virtual time while the holder sleeps on a disk sync.
	checking chan struct{}
	// rng draws the steps' choices made as they run (which node is the
	// victim); only the timeline's goroutine uses it.
	rng *rand.Rand
}

// simClient is one workload client: a sequential process of its chain's
// history.
type simClient struct {
	id   int
	kind ClientKind
	h    *chainHistory
	cl   *chain.Client
	rng  *rand.Rand
	seq  int
}

// chainHistory is what the clients of one chain recorded and wrote.
type chainHistory struct {
	id       string // the chain's id ("" for a Cluster's one chain)
	rec      *Recorder
	maxAcked atomic.Uint64 // the highest offset acknowledged

	mu      sync.Mutex
	writes  []Write // every write made, acknowledged or not
	expired []Write // writes answered chain.ErrResultExpired
	// final is the chain's log after the run, as its members hold it
	// (see checkChainLogs); nil if none was read.
	final []chain.Entry
}

func newChainHistory(id string) *chainHistory { return &chainHistory{id: id, rec: NewRecorder()} }

// name names the chain in reports.
func (h *chainHistory) name() string {
	if h.id == "" {
		return "the chain"
	}
	return "chain " + h.id
}

// violate records a violation of the run's checks.
func (r *simRun) violate(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.violations, v) {
		r.violations = append(r.violations, v)
	}
}

// runSchedule runs s in the current bubble and checks it, except for its
// history (see RunSchedule).
func runSchedule(t *testing.T, s *Schedule, enabled FaultSet) *simRun {
	r := &simRun{t: t, s: s, enabled: enabled, rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x7a9e7)),
		checking: make(chan struct{}, 1)}
	if s.Partitioned != nil {
		r.startPartitioned()
	} else {
		r.start()
	}
	r.tl = newTimeline()
	r.deadline = s.Faults + s.livenessBound()
	stopWatch := func() {}
	if r.c != nil {
		stopWatch = r.watchInvariants()
	}
	r.net.SetTap(r.onSend)
	r.startClients()
	for _, st := range s.Steps {
		r.tl.add(st.At, func() string { return r.perform(st) })
	}
	r.tl.run(s.Faults)
	r.stopping.Store(true)
	r.heal()
	r.finish(stopWatch)
	return r
}

// watchInvariants checks the invariants every invariantInterval until
// the returned function is called; Cluster.Violations returns what it
// found.
func (r *simRun) watchInvariants() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(invariantInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				r.checking <- struct{}{}
				r.c.checkOnce(false)
				<-r.checking
			case <-done:
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// start starts the cluster and the clients of s.
func (r *simRun) start() {
	s := r.s
	opts := Options{
		Nodes: s.Nodes, Seed: s.Seed, Master: !s.Static, Masters: s.Masters, FailureTimeout: s.FailureTimeout,
		Setup:       func(_ int, n *chain.Node) error { return s.Workload.Setup(n) },
		OpenStorage: func(i int) (chain.Storage, error) { return r.disk(i).Open() },
	}
	if s.Static {
		opts.Masters = 0
	}
	if s.MaxSessions > 0 {
		// An expiry beyond the schedule: a session is forgotten only for
		// a new one, and a client whose call retries for seconds (its
		// retries answered by the head leave no entry) is not idle. The
		// forgetting of idle sessions is tested in the package's tests.
		opts.NodeOptions = append(opts.NodeOptions, chain.WithMaxSessions(s.MaxSessions),
			chain.WithSessionExpiry(time.Minute))
	}
	r.c = Start(r.t, opts)
	r.net, r.group = r.c.Network(), r.c.group
	r.net.SetDialedOnly(s.DialedOnly)
	r.cfg0 = r.c.cfg.Clone()
	r.histories = []*chainHistory{newChainHistory("")}
	r.clientOf = func(_ *chainHistory, kind ClientKind, opts ...chain.ClientOption) *chain.Client {
		return r.newClient(kind, opts...)
	}
}

// disk returns node i's disk, creating it at first use.
func (r *simRun) disk(i int) *Disk {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.disks) <= i {
		r.disks = append(r.disks, NewDisk(r.s.Seed*31+int64(len(r.disks)), r.s.SyncLatency))
	}
	return r.disks[i]
}

// newClient returns a client of the given kind, closed with the cluster.
func (r *simRun) newClient(kind ClientKind, opts ...chain.ClientOption) *chain.Client {
	if kind != ClientOldConfig {
		return r.c.Client(opts...)
	}
	cl, err := chain.NewClient(append([]chain.ClientOption{chain.WithTransport(r.net), chain.WithConfig(r.cfg0)}, opts...)...)
	if err != nil {
		panic(fmt.Sprintf("chaintest: new client of the initial configuration: %v", err)) // it was valid at start
	}
	r.c.mu.Lock()
	r.c.clients = append(r.c.clients, cl)
	r.c.mu.Unlock()
	return cl
}

// startClients starts the workload clients, which operate until the
// fault phase ends.
func (r *simRun) startClients() {
	for _, h := range r.histories {
		for _, kind := range r.s.Clients {
			sc := r.stepClient(h, kind)
			if sc == nil {
				continue
			}
			r.clients = append(r.clients, sc)
			r.clientWG.Go(func() {
				ctx, cancel := r.callContext()
				defer cancel()
				for !r.stopping.Load() && ctx.Err() == nil {
					r.operate(ctx, sc, sc.opKind(AnyOp))
					time.Sleep(time.Duration(sc.rng.Int64N(int64(maxThink))))
				}
			})
		}
	}
}

// callContext returns the context of calls made during the faults: it
// ends when every call must have returned.
func (r *simRun) callContext() (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), r.tl.start.Add(r.deadline))
}

// opKind returns what sc issues when asked for want.
func (sc *simClient) opKind(want OpKind) OpKind {
	if sc.kind == ClientWriteOnly {
		return WriteOp
	}
	return want
}

// operate runs one operation of sc and notes its outcome.
func (r *simRun) operate(ctx context.Context, sc *simClient, kind OpKind) Outcome {
	op := Operation{Client: sc.cl, Recorder: sc.h.rec, ID: sc.id, Seq: sc.seq, Rand: sc.rng, Kind: kind, Acked: sc.h.maxAcked.Load()}
	sc.seq++
	out := r.s.Workload.Operate(ctx, op)
	r.noteOutcome(fmt.Sprintf("client %d (%s) of %s", sc.id, sc.kind, sc.h.name()), sc.h, out)
	return out
}

// noteOutcome records a call's write and checks that it returned in time.
func (r *simRun) noteOutcome(who string, h *chainHistory, out Outcome) {
	h.mu.Lock()
	if w := out.Write; w != nil {
		if w.Offset > h.maxAcked.Load() {
			h.maxAcked.Store(w.Offset)
		}
		h.writes = append(h.writes, *w)
		if errors.Is(out.Err, chain.ErrResultExpired) {
			h.expired = append(h.expired, *w)
		}
	}
	h.mu.Unlock()
	if errors.Is(out.Err, context.DeadlineExceeded) && r.tl.now() >= r.deadline {
		r.violate("liveness: a call of %s did not return within %v after the faults stopped: %v",
			who, r.s.livenessBound(), out.Err)
	}
}

// report fails the test with the seed, the schedule, what happened and
// what the checks found.
func (r *simRun) report() {
	const shown = 20
	violations := r.violations
	if len(violations) > shown {
		violations = append(violations[:shown:shown], fmt.Sprintf("... and %d more", len(r.violations)-shown))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "chaintest: simulated schedule failed\n%s\nwhat happened:\n  %s\nviolations:\n  %s\n",
		r.s, strings.Join(r.tl.lines(), "\n  "), strings.Join(violations, "\n  "))
	if known := r.s.knownDefects(); known != "" {
		fmt.Fprintf(&b, "the schedule draws fault kinds that expose open defects (see faultTable): %s\n", known)
	}
	fmt.Fprintf(&b, "replay: CHAIN_SEED=%d CHAIN_FAULTS=%q go test ./chaintest -run 'TestSimulation$' -v "+
		"(a replay fixes the faults, not the interleaving: replay a few times)", r.s.Seed, quoteFaults(r.enabled))
	r.t.Error(b.String())
}

// knownDefects lists the kinds among s's steps and clients that expose
// open defects, with their numbers ("" if none does).
func (s *Schedule) knownDefects() string {
	drawn := map[FaultKind]bool{}
	for _, st := range s.Steps {
		drawn[st.Kind] = true
	}
	for _, k := range s.Clients {
		switch k {
		case ClientOldConfig:
			drawn[FaultOldConfigClients] = true
		case ClientWriteOnly:
			drawn[FaultWriteOnlyClients] = true
		}
	}
	var out []string
	for _, f := range faultTable {
		if drawn[f.Kind] && len(f.Defects) > 0 {
			out = append(out, fmt.Sprintf("%s %v", f.Kind, f.Defects))
		}
	}
	return strings.Join(out, ", ")
}

// quoteFaults renders an enabled set as a CHAIN_FAULTS value: "" for
// the default set, "all", the kinds added to the default set, or "only:"
// and the kinds.
func quoteFaults(set FaultSet) string {
	var added, only []string
	missing, all := false, true
	for _, f := range faultTable {
		switch {
		case set[f.Kind]:
			only = append(only, string(f.Kind))
			if len(f.Defects) != 0 {
				added = append(added, string(f.Kind))
			}
		case len(f.Defects) == 0:
			missing, all = true, false
		default:
			all = false
		}
	}
	switch {
	case all:
		return "all"
	case missing:
		return "only:" + strings.Join(only, ",")
	}
	return strings.Join(added, ",")
}

// index returns the index of the node with member id "n<index+1>".
func index(id string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "n"))
	if err != nil {
		return -1
	}
	return i - 1
}
