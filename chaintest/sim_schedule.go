package chaintest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// Schedule is one simulated run, drawn from its seed by DrawSchedule: the
// cluster, its clients, and the faults at their times (virtual time from
// the start of the run). The seed fixes these decisions and those of the
// network's and disks' random sources, not the interleaving of
// goroutines: a replay usually, not always, takes the same course.
type Schedule struct {
	Seed     int64
	Workload Workload
	// Static is a chain without a master; otherwise Masters masters
	// (1 alone, or a raft group of 3) manage it.
	Static  bool
	Masters int
	Nodes   int
	// FailureTimeout is the master's; SyncLatency bounds each disk sync.
	FailureTimeout time.Duration
	SyncLatency    time.Duration
	Clients        []ClientKind
	// DialedOnly makes clients reachable only from the nodes they sent
	// to (see inmem.Network.SetDialedOnly).
	DialedOnly bool
	// MaxSessions, when positive, bounds the nodes' session tables.
	MaxSessions int
	// Partitioned, when set, makes the cluster a partitioned one under the
	// masters (Nodes is then unused).
	Partitioned *PartitionShape
	// Faults is how long the fault phase lasts; every step falls in it.
	Faults time.Duration
	Steps  []Step
}

// ClientKind is how a workload client of a schedule behaves.
type ClientKind int

// The kinds of client.
const (
	// ClientNormal follows the master and reads and writes.
	ClientNormal ClientKind = iota
	// ClientOldConfig is given the chain's initial members and no master.
	ClientOldConfig
	// ClientWriteOnly only writes, so it never contacts the tail.
	ClientWriteOnly
)

func (k ClientKind) String() string {
	return [...]string{"normal", "old-config", "write-only"}[k]
}

// Step is one fault of a schedule.
type Step struct {
	At   time.Duration
	Kind FaultKind
	// Target is the node the fault hits, by role in the configuration
	// when the step runs: "head", "middle", "tail" or "any".
	Target string
	// For is how long the fault lasts, or how long after it the node (or
	// master) restarts.
	For time.Duration
	// Messages are the faults of a FaultMessages step.
	Messages *MessageFaults
	// Cut, in a master-mid-change step, cuts the master off instead of
	// killing it.
	Cut bool
	// Way, in a link-cut step, is which way the link is cut: "both",
	// "down" (predecessor to successor) or "up".
	Way string
}

// MessageFaults are a FaultMessages step's faults: on messages of Kinds
// (named KindsName), on every link or only those from or to the target.
type MessageFaults struct {
	KindsName string
	Kinds     []wire.MessageKind
	Link      string // "all", "from" or "to"
	Faults    inmem.Faults
}

// messageGroups are the kinds FaultMessages steps hit together.
var messageGroups = []struct {
	name  string
	kinds []wire.MessageKind
}{
	{"replication", []wire.MessageKind{wire.KindPullRequest, wire.KindPullResponse, wire.KindCommitNotice}},
	{"client", []wire.MessageKind{wire.KindClientRequest, wire.KindRequestBatch, wire.KindClientResponse, wire.KindResponseBatch}},
	{"master", []wire.MessageKind{wire.KindHeartbeat, wire.KindConfigUpdate, wire.KindConfigRequest}},
	{"every", nil},
}

// DrawSchedule draws the schedule of seed among workloads (default
// LogWorkload and KVWorkload), with the fault kinds of enabled (nil:
// DefaultFaults).
func DrawSchedule(seed int64, workloads []Workload, enabled FaultSet) *Schedule {
	if len(workloads) == 0 {
		workloads = []Workload{LogWorkload{}, KVWorkload{}}
	}
	if enabled == nil {
		enabled = DefaultFaults()
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5c4ed01e))
	s := &Schedule{Seed: seed, Workload: workloads[rng.IntN(len(workloads))]}
	s.Static = rng.IntN(6) == 0
	s.Nodes = pick(rng, []int{1, 2, 3, 3, 3, 4, 5})
	if s.Static {
		s.Nodes = pick(rng, []int{1, 2, 3, 3})
	} else {
		s.Masters = pick(rng, []int{1, 1, 3, 3, 3})
		if rng.IntN(8) == 0 {
			p := &PartitionShape{Chains: 2 + rng.IntN(2), Replicas: 2 + rng.IntN(2)}
			p.Servers = p.Replicas + rng.IntN(3)
			s.Partitioned = p
		}
	}
	s.FailureTimeout = pick(rng, []time.Duration{200, 300, 500, 500, 1000}) * time.Millisecond
	s.SyncLatency = pick(rng, []time.Duration{0, 0, 500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond})
	s.Faults = time.Duration(2000+rng.IntN(3000)) * time.Millisecond
	for range 2 + rng.IntN(3) {
		s.Clients = append(s.Clients, ClientNormal)
	}
	if enabled[FaultOldConfigClients] && !s.Static && s.Partitioned == nil && rng.IntN(2) == 0 {
		s.Clients = append(s.Clients, ClientOldConfig)
	}
	if enabled[FaultWriteOnlyClients] && s.Partitioned == nil && rng.IntN(2) == 0 {
		s.DialedOnly = true
		s.Clients = append(s.Clients, ClientWriteOnly)
	}
	kinds := s.applicable(enabled)
	if len(kinds) == 0 {
		return s
	}
	for range 1 + rng.IntN(8) {
		st := s.drawStep(rng, pick(rng, kinds))
		if st.Kind == FaultSessionEviction {
			s.MaxSessions = 32
		}
		s.Steps = append(s.Steps, st)
	}
	slices.SortStableFunc(s.Steps, func(a, b Step) int { return int(a.At - b.At) })
	return s
}

// applicable returns the enabled kinds that apply to s's cluster.
func (s *Schedule) applicable(enabled FaultSet) []FaultKind {
	var out []FaultKind
	for _, f := range faultTable {
		if !enabled[f.Kind] || !s.applies(f.Kind, enabled) {
			continue
		}
		out = append(out, f.Kind)
	}
	return out
}

func (s *Schedule) applies(k FaultKind, enabled FaultSet) bool {
	if s.Partitioned != nil {
		return slices.Contains(partitionedKinds, k)
	}
	master := !s.Static
	switch k {
	case FaultCrashQuick, FaultCrashLate, FaultSyncFail, FaultSyncFailHead, FaultDiskFull:
		// A static chain of one has no node but a lone tail.
		return master || s.Nodes > 1 || enabled[FaultRestartLoneTail]
	case FaultCrashAll:
		return master && s.Nodes > 1
	case FaultRestartLoneTail:
		return s.Static || s.Nodes == 1
	case FaultWipe, FaultWipeTail, FaultKillNewTail, FaultKillNewTailEarly, FaultFailover, FaultRestartNewTail, FaultPauseLong, FaultSlowMaster, FaultMasterKill,
		FaultMasterPartition, FaultMasterMidChange, FaultAddNode:
		return master
	case FaultLinkCut:
		return master && s.Nodes > 1
	case FaultMasterWipe:
		return master && s.Masters == 1
	case FaultFlood:
		_, isLog := s.Workload.(LogWorkload)
		return !isLog // its raw appends would be unrecorded entries of the log model
	case FaultWriteOnlyClients, FaultOldConfigClients:
		return false // clients, drawn with the cluster
	}
	return true
}

// drawStep draws a step of kind k.
func (s *Schedule) drawStep(rng *rand.Rand, k FaultKind) Step {
	to := s.FailureTimeout
	st := Step{Kind: k, Target: pick(rng, []string{"head", "middle", "tail", "any"})}
	st.At = time.Duration(100+rng.IntN(int(s.Faults/time.Millisecond)-300)) * time.Millisecond
	between := func(lo, hi float64) time.Duration {
		return time.Duration((lo + rng.Float64()*(hi-lo)) * float64(to))
	}
	switch k {
	case FaultCrashQuick:
		st.For = between(0.05, 0.4)
	case FaultCrashLate, FaultDiskFull, FaultFailover:
		st.For = between(1.5, 4)
	case FaultSyncFail:
		st.Target, st.For = pick(rng, []string{"middle", "tail"}), between(1.5, 4)
	case FaultSyncFailHead:
		st.Target, st.For = "head", between(1.5, 4)
	case FaultCrashAll, FaultRestartLoneTail:
		st.For = between(0.1, 3)
	case FaultWipe:
		st.Target, st.For = pick(rng, []string{"head", "middle"}), between(0.1, 3)
	case FaultWipeTail:
		st.Target, st.For = "tail", between(0.05, 0.4)
	case FaultKillNewTail:
		// Restarted once the master removed them: a node restarted while
		// the master still names it tail is kill-new-tail-early's (defect 3).
		st.Target, st.For = "tail", between(1.5, 3)
	case FaultKillNewTailEarly:
		st.Target, st.For = "tail", between(0.3, 0.9)
	case FaultRestartNewTail:
		st.Target, st.For = pick(rng, []string{"head", "middle"}), between(0.05, 0.4)
	case FaultPauseShort:
		st.For = between(0.1, 0.45)
	case FaultPauseLong:
		st.Target, st.For = pick(rng, []string{"tail", "tail", "any"}), between(1.5, 4)
	case FaultIsolate, FaultCut:
		st.For = between(0.2, 3)
	case FaultLinkCut:
		st.Way, st.For = pick(rng, []string{linkBoth, linkDown, linkUp}), between(2.5, 5)
	case FaultMessages:
		g := pick(rng, messageGroups)
		f := inmem.Faults{}
		if rng.IntN(2) == 0 {
			f.Drop = rng.Float64() * 0.3
		}
		if rng.IntN(2) == 0 {
			f.Duplicate = rng.Float64() * 0.3
		}
		if rng.IntN(2) == 0 {
			f.Delay, f.MaxDelay = rng.Float64()*0.5, time.Duration(1+rng.IntN(30))*time.Millisecond
		}
		if rng.IntN(2) == 0 {
			f.Reorder, f.ReorderWindow = rng.Float64()*0.3, 2*time.Millisecond
		}
		st.Messages = &MessageFaults{KindsName: g.name, Kinds: g.kinds, Link: pick(rng, []string{"all", "from", "to"}), Faults: f}
		st.For = time.Duration(200+rng.IntN(1800)) * time.Millisecond
	case FaultSlowMaster:
		st.Target, st.For = "tail", between(2, 5)
	case FaultMasterKill, FaultMasterPartition, FaultMasterWipe:
		st.For = between(0.3, 3)
	case FaultMasterMidChange:
		st.Cut, st.For = rng.IntN(2) == 0, between(0.5, 3)
	case FaultSessionEviction:
		st.For = 300 * time.Millisecond
	case FaultClockStep:
		// For is the step; a target of "head" or "middle" steps back.
		st.For = time.Duration(1+rng.IntN(600)) * time.Second
	}
	return st
}

// pick returns a random element of choices.
func pick[T any](rng *rand.Rand, choices []T) T { return choices[rng.IntN(len(choices))] }

// String describes the schedule, one step a line.
func (s *Schedule) String() string {
	var b strings.Builder
	shape := fmt.Sprintf("static chain of %d", s.Nodes)
	switch {
	case s.Partitioned != nil:
		p := s.Partitioned
		shape = fmt.Sprintf("partitioned: %d chains of %d replicas on %d servers under %d master(s)", p.Chains, p.Replicas, p.Servers, s.Masters)
	case !s.Static:
		shape = fmt.Sprintf("chain of %d under %d master(s)", s.Nodes, s.Masters)
	}
	kinds := make([]string, len(s.Clients))
	for i, k := range s.Clients {
		kinds[i] = k.String()
	}
	fmt.Fprintf(&b, "seed %d: %s workload, %s, failure timeout %v, sync latency up to %v, clients %s",
		s.Seed, s.Workload.Name(), shape, s.FailureTimeout, s.SyncLatency, strings.Join(kinds, ","))
	if s.DialedOnly {
		b.WriteString(", clients reachable only over their connections")
	}
	if s.MaxSessions > 0 {
		fmt.Fprintf(&b, ", at most %d sessions", s.MaxSessions)
	}
	fmt.Fprintf(&b, "; faults for %v:", s.Faults)
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "\n  %8s %s", fmtAt(st.At), st)
	}
	return b.String()
}

func (st Step) String() string {
	s := fmt.Sprintf("%s %s", st.Kind, st.Target)
	switch {
	case st.Messages != nil:
		m := st.Messages
		s += fmt.Sprintf(" %s messages on %s links: drop %.2f dup %.2f delay %.2f (up to %v) reorder %.2f",
			m.KindsName, m.Link, m.Faults.Drop, m.Faults.Duplicate, m.Faults.Delay, m.Faults.MaxDelay, m.Faults.Reorder)
	case st.Cut:
		s += " (cut off)"
	case st.Way != "":
		s += " " + st.Way
	}
	if st.For > 0 {
		s += fmt.Sprintf(" for %v", st.For.Round(time.Millisecond))
	}
	return s
}

// fmtAt formats a time since the start of a run.
func fmtAt(d time.Duration) string { return fmt.Sprintf("+%.3fs", d.Seconds()) }
