package faultsuite

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Kind is a kind of fault step.
type Kind string

// The fault steps. Each lasts Step.Hold and is healed before the next.
const (
	IsolateLeader Kind = "isolate-leader-master" // disconnect the leading master from the network
	IsolateMaster Kind = "isolate-follower-master"
	IsolateHead   Kind = "isolate-head" // disconnect the head (from its successor, the master and the clients)
	IsolateTail   Kind = "isolate-tail"
	IsolateMiddle Kind = "isolate-middle"
	CutHeadLink   Kind = "cut-head-successor" // drop packets between the head and its successor only (iptables), Hold over twice the failure timeout
	PauseNode     Kind = "pause-node"         // docker pause a node, Hold shorter or longer than the failure timeout
	PauseLeader   Kind = "pause-leader"       // docker pause the leading master
	KillNode      Kind = "kill-node"          // kill -9 a node, start it again after Hold
	KillLeader    Kind = "kill-leader-master"
	RestartNode   Kind = "restart-node" // docker restart (SIGTERM, then start)
	RestartMaster Kind = "restart-master"
	WipeNode      Kind = "wipe-node"              // kill -9 a node, empty its volume, start it
	KillMidConfig Kind = "kill-leader-mid-config" // a reconfiguration begins, the leading master is killed at once
	AddNode       Kind = "add-node"               // the spare joins during the writes
	Rolling       Kind = "rolling-restart"        // every master, then every node, restarted in turn
)

// kinds are the steps Draw picks from.
var kinds = []Kind{IsolateLeader, IsolateMaster, IsolateHead, IsolateTail, IsolateMiddle, PauseNode, PauseLeader,
	KillNode, KillLeader, RestartNode, RestartMaster, WipeNode, KillMidConfig, AddNode, Rolling, CutHeadLink}

// Step is one fault of a schedule.
type Step struct {
	Kind Kind
	// Target picks among the candidates (a node by role where the kind
	// names none): the index modulo their number. A cut link's Direction
	// is Target modulo 3.
	Target int
	// Hold is how long the fault lasts before it is healed.
	Hold time.Duration
}

func (s Step) String() string { return fmt.Sprintf("%s(target %d, %v)", s.Kind, s.Target, s.Hold) }

// Schedule is a seed's faults.
type Schedule struct {
	Seed  uint64
	Steps []Step
}

func (s Schedule) String() string {
	parts := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		parts[i] = st.String()
	}
	return fmt.Sprintf("seed %d: %s", s.Seed, strings.Join(parts, ", "))
}

// Draw returns the schedule of seed: steps faults, with holds in
// proportion to the failure timeout ft (a pause either well under it or
// well over it; a cut link long enough for the master's link rule to act,
// 2-4 failure timeouts). The spare is added and a rolling restart done at
// most once each.
func Draw(seed uint64, steps int, ft time.Duration) Schedule {
	rng := rand.New(rand.NewPCG(seed, 0x6661756c74))
	s := Schedule{Seed: seed}
	used := map[Kind]bool{}
	for len(s.Steps) < steps {
		k := kinds[rng.IntN(len(kinds))]
		if (k == AddNode || k == Rolling || k == KillMidConfig) && used[k] {
			continue
		}
		used[k] = true
		hold := ft + time.Duration(rng.Int64N(int64(2*ft))) // 1-3 failure timeouts
		if k == PauseNode || k == PauseLeader {
			hold = ft / 4
			if rng.IntN(2) == 0 {
				hold = 2*ft + time.Duration(rng.Int64N(int64(ft)))
			}
		}
		if k == CutHeadLink {
			hold += ft
		}
		s.Steps = append(s.Steps, Step{Kind: k, Target: rng.IntN(12), Hold: hold})
	}
	return s
}
