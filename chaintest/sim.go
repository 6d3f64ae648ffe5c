package chaintest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
)

// SimOptions configure Simulate.
type SimOptions struct {
	// Workloads are the applications the schedules run, one drawn per
	// schedule; default LogWorkload and KVWorkload.
	Workloads []Workload
	// Schedules is how many schedules to run unless CHAIN_SCHEDULES says;
	// default 100.
	Schedules int
	// Faults are the fault kinds enabled unless CHAIN_FAULTS says; nil:
	// DefaultFaults.
	Faults FaultSet
}

// Simulate runs seeded fault schedules against whole clusters in virtual
// time, each schedule in its own testing/synctest bubble, as parallel
// subtests named by seed. A schedule (see DrawSchedule) starts a chain,
// static or under a master or a raft group of masters, on the in-memory
// transport and simulated disks (Disk: a crash loses what was not
// synced), runs the workload's clients, and draws faults from the enabled
// kinds (see the table in sim_faults.go): crashes and restarts of any node
// (with the original member list, as a deployment restarts a node),
// restarts with an empty disk, a crash of every node at once, a crash of
// the node the master names tail as it is named, pauses (messages wait,
// then arrive in a burst) shorter and longer than the failure timeout,
// isolation, one-way cuts, drops, duplicates, delays and reordering per
// message kind (the master's replies and the nodes' heartbeats included),
// the leading master killed or cut off (also as it announces a
// reconfiguration) and restarted, failed fsyncs and full disks
// (fail-stop), node additions, bursts of new client sessions, clients that
// keep an old configuration, clients that only write.
//
// After the faults, every schedule checks: the invariants throughout
// (prefix, acknowledged by the successor, commit point never backward
// within an incarnation, committed entries never changed, each command
// applied at most once per incarnation); liveness: within
// Schedule.livenessBound after the faults stop, every call has returned,
// every node runs, is a member and holds the same log, committed and
// applied, every client's probe write and read succeed, and then every
// call is answered within quietLatency; the workload's final reads; every
// node's log identical; every acknowledged write at its offset; every
// write refused as applied before in the log; and the recorded history
// linearizable under the workload's model (porcupine). A failure reports
// the seed, the schedule, what happened when, and how to replay it.
//
// The environment selects what runs: CHAIN_SEED=S runs the one schedule
// S; CHAIN_SCHEDULES=N runs N schedules from a random base seed, or from
// CHAIN_SEED_BASE=B on; CHAIN_FAULTS=all, or a comma-separated list of
// kinds, adds fault kinds that expose known open defects ("only:" before
// the list runs just those kinds).
func Simulate(t *testing.T, opts SimOptions) {
	enabled := opts.Faults
	if s := os.Getenv("CHAIN_FAULTS"); s != "" || enabled == nil {
		var err error
		if enabled, err = ParseFaults(s); err != nil {
			t.Fatalf("CHAIN_FAULTS=%q: %v", s, err)
		}
	}
	seeds, err := simSeeds(opts.Schedules)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chaintest: %d schedules from seed %d, faults %s", len(seeds), seeds[0], enabled)
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			RunSchedule(t, DrawSchedule(seed, opts.Workloads, enabled), enabled)
		})
	}
}

// RunSchedule runs s in a synctest bubble of its own and fails t with a
// report if a check fails. enabled names the fault kinds the replay
// command it prints enables.
func RunSchedule(t *testing.T, s *Schedule, enabled FaultSet) {
	var r *simRun
	synctest.Test(t, func(t *testing.T) { r = runSchedule(t, s, enabled) })
	if r == nil {
		return // the bubble failed the test before the run ended
	}
	r.t = t
	// Outside the bubble, where the check's goroutines are no part of the
	// schedule.
	r.checkHistory()
	if len(r.violations) > 0 {
		r.report()
	} else if testing.Verbose() {
		ops := 0
		for _, h := range r.histories {
			ops += h.rec.Len()
		}
		t.Logf("%s\nwhat happened:\n  %s\n%d operations recorded", s, strings.Join(r.tl.lines(), "\n  "), ops)
	}
}

// simSeeds returns the seeds to run, as the environment says.
func simSeeds(schedules int) ([]int64, error) {
	if s := os.Getenv("CHAIN_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("CHAIN_SEED=%q: %w", s, err)
		}
		return []int64{seed}, nil
	}
	if s := os.Getenv("CHAIN_SCHEDULES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("CHAIN_SCHEDULES=%q: want a positive integer", s)
		}
		schedules = n
	}
	if schedules <= 0 {
		schedules = 100
	}
	var base int64
	if s := os.Getenv("CHAIN_SEED_BASE"); s != "" {
		b, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("CHAIN_SEED_BASE=%q: %w", s, err)
		}
		base = b
	} else {
		// Not the clock: time.Now is fixed inside a bubble, and seeds
		// drawn from it would repeat from run to run.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("draw a base seed: %w", err)
		}
		base = int64(binary.LittleEndian.Uint64(b[:]) >> 2)
	}
	seeds := make([]int64, schedules)
	for i := range seeds {
		seeds[i] = base + int64(i)
	}
	return seeds, nil
}
