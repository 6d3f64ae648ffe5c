package chain_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/transport/inmem"
)

// scheduleCount is the number of fault schedules TestFaultSchedules runs:
// CHAIN_SCHEDULES, or 50.
func scheduleCount(t *testing.T) int {
	if s := os.Getenv("CHAIN_SCHEDULES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CHAIN_SCHEDULES=%q: want a positive integer", s)
		}
		return n
	}
	return 50
}

// TestFaultSchedules runs seeded schedules of faults against 3- and 5-node
// chains under a master while clients append and read: nodes are killed
// and restarted, paused (cut off) for shorter and longer than the failure timeout,
// cut off one way, the master is isolated, nodes are added, and messages
// are delayed, duplicated and reordered. Each schedule ends with the
// network healed and every node back, and must show a linearizable
// history, every acknowledged append in the log, and invariants 1-3 and 5
// held throughout. Replay one with CHAIN_SEED; run more with
// CHAIN_SCHEDULES.
func TestFaultSchedules(t *testing.T) {
	seeds := runSeeds(t)
	if os.Getenv("CHAIN_SEED") == "" {
		base := seeds[0]
		seeds = make([]int64, scheduleCount(t))
		for i := range seeds {
			seeds[i] = base + int64(i)
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runSchedule(t, seed)
		})
	}
}

// minScheduleOps is the number of operations each schedule completes at
// least.
const minScheduleOps = 1000

func runSchedule(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xfa17))
	nodes := 3 + 2*rng.IntN(2)
	c := masterChain(t, seed, nodes)
	stopWatch := c.WatchInvariants(2 * time.Millisecond)
	w := startLogWorkload(c, seed, 4, 100000)
	var events []string
	var mu sync.Mutex
	note := func(format string, args ...any) {
		mu.Lock()
		events = append(events, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	defer func() {
		if t.Failed() {
			t.Logf("seed %d, %d nodes, schedule: %s", seed, nodes, strings.Join(events, "; "))
		}
	}()

	var killed []int
	deadline := time.Now().Add(20 * time.Second)
	for step := 0; step < 4 || w.ops() < minScheduleOps; step++ {
		if time.Now().After(deadline) {
			t.Fatalf("seed %d: only %d operations in 20s", seed, w.ops())
		}
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		if step >= 4 {
			continue // faults done; let the workload reach its count
		}
		victim := rng.IntN(c.Nodes())
		switch rng.IntN(6) {
		case 0:
			if c.Node(victim) != nil && len(killed) < c.Nodes()-1 {
				c.Kill(victim)
				killed = append(killed, victim)
				note("kill %d", victim)
			}
		case 1:
			d := time.Duration(50+rng.IntN(350)) * time.Millisecond // shorter or longer than the timeout
			note("pause %d for %v", victim, d)
			c.Pause(victim, d)
		case 2:
			other := rng.IntN(c.Nodes())
			if other != victim {
				d := time.Duration(50+rng.IntN(250)) * time.Millisecond
				c.Network().PartitionOneWay([]string{c.Addr(victim)}, []string{c.Addr(other)})
				note("cut %d->%d for %v", victim, other, d)
				time.Sleep(d)
				c.Network().Heal()
			}
		case 3:
			d := time.Duration(50+rng.IntN(250)) * time.Millisecond
			c.Network().Isolate(chaintest.MasterAddr)
			note("isolate master for %v", d)
			time.Sleep(d)
			c.Network().Heal()
		case 4:
			if c.Nodes() < nodes+2 {
				note("add node %d", c.AddNode())
			}
		case 5:
			if err := c.Network().SetFaults(inmem.Faults{Duplicate: 0.1, Delay: 0.1, Reorder: 0.2,
				MaxDelay: 3 * time.Millisecond, ReorderWindow: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			note("delay/duplicate/reorder")
		}
		if len(killed) > 0 && rng.IntN(2) == 0 {
			i := killed[0]
			killed = killed[1:]
			c.Restart(i)
			note("restart %d", i)
		}
	}
	for _, i := range killed {
		c.Restart(i)
		note("restart %d", i)
	}
	w.finish(t, c, stopWatch, seed)
}
