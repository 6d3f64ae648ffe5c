package chain_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/wire"
)

// partitionedKV starts the key-value example on a partitioned cluster of
// 3 masters, 6 servers and 8 chains of 3 replicas, and returns it with
// the store of every replica, by member id.
func partitionedKV(t *testing.T, seed int64) (*chaintest.Partitioned, func() map[string]*kv.Store) {
	var mu sync.Mutex
	stores := map[string]*kv.Store{}
	p := chaintest.StartPartitioned(t, chaintest.PartitionedOptions{
		Masters: 3, Servers: 6, Chains: 8, Replicas: 3, Seed: seed, FailureTimeout: failureTimeout,
		Setup: func(r wire.Replica, n *chain.Node) error {
			s := kv.New()
			mu.Lock()
			stores[r.Member.ID] = s
			mu.Unlock()
			return s.Register(n)
		},
		NodeOptions:   []chain.NodeOption{chain.WithPollInterval(10 * time.Millisecond)},
		ClientOptions: []chain.ClientOption{chain.WithRetryInterval(5*time.Millisecond, 40*time.Millisecond)},
	})
	return p, func() map[string]*kv.Store {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]*kv.Store, len(stores))
		for id, s := range stores {
			out[id] = s
		}
		return out
	}
}

// TestPartitionedKVUnderMasterFaults runs the key-value example on 8
// chains while a seeded schedule kills servers (each kill starts
// reconfigurations of the chains it held) and, during those
// reconfigurations, kills or partitions the master group's leader;
// servers come back and a new one joins (replicas move to it). The
// history must be linearizable (it ends with a read of every key, so a
// lost acknowledged write shows), every chain must be back to three
// replicas, and each chain's replicas must hold the same data.
func TestPartitionedKVUnderMasterFaults(t *testing.T) {
	for _, seed := range runSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			p, stores := partitionedKV(t, seed)
			rng := rand.New(rand.NewPCG(uint64(seed), 0x9a7))
			keys := make([]string, 24)
			for i := range keys {
				keys[i] = fmt.Sprintf("key-%d", i)
			}
			rec := chaintest.NewRecorder()
			// Clients run until the schedule is over, at most maxOps each.
			const clients, maxOps = 6, 3000
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for id := range clients {
				kvc := kv.NewPartitionedClient(p.Client())
				crng := rand.New(rand.NewPCG(uint64(seed), uint64(id)))
				wg.Go(func() {
					for op := range maxOps {
						select {
						case <-stop:
							return
						default:
						}
						key := keys[crng.IntN(len(keys))]
						kvOperation(rec, kvc, id, crng, key, fmt.Sprintf("c%d-%d", id, op))
					}
				})
			}
			events := runMasterFaults(t, p, rng)
			// Replicas move to the restarted and new servers while the
			// clients run.
			faultsOver := time.Now()
			balanced := waitBalanced(p, p.Servers(), 20*time.Second)
			t.Logf("seed %d: servers balanced %v after the schedule", seed, time.Since(faultsOver).Round(time.Millisecond))
			close(stop)
			wg.Wait()
			defer func() {
				if t.Failed() {
					t.Logf("seed %d, schedule: %s", seed, strings.Join(events, "; "))
				}
			}()

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, p.WaitConverged(ctx), "seed %d", seed)
			final := kv.NewPartitionedClient(p.Client())
			for _, key := range keys {
				op := rec.Begin(clients, chaintest.KVInput{Op: chaintest.KVGet, Key: key})
				v, found, err := final.Get(ctx, key)
				require.NoError(t, err, "seed %d", seed)
				op.End(chaintest.KVOutput{Value: string(v), Found: found})
			}
			chaintest.CheckLinearizable(t, chaintest.KVModel(), rec.Operations(), seed)
			layout := p.Layout()
			reconfigured := 0
			for _, ch := range layout.Chains {
				if ch.Config.Epoch > 1 {
					reconfigured++
				}
			}
			require.Positive(t, reconfigured, "seed %d: the faults reconfigured no chain", seed)
			require.NoError(t, balanced, "seed %d", seed)
			t.Logf("seed %d: %d operations, %d of %d chains reconfigured", seed, rec.Len(), reconfigured, len(layout.Chains))
			all := stores()
			for _, ch := range layout.Chains {
				var first map[string][]byte
				for i, m := range ch.Config.Members {
					s := all[m.ID]
					require.NotNil(t, s, "seed %d: replica %s has no store", seed, m.ID)
					if i == 0 {
						first = s.Snapshot()
						continue
					}
					require.Equal(t, first, s.Snapshot(), "seed %d: chain %s: replica %s differs from the head", seed, ch.ID, m.ID)
				}
			}
		})
	}
}

// runMasterFaults runs the fault schedule and returns what it did: a
// server is killed and, while its chains reconfigure, the leading master
// is killed; later the new leader is partitioned from the nodes and the
// other master while another server is killed; the killed servers
// restart and a seventh server joins. Every step is bounded in time.
func runMasterFaults(t *testing.T, p *chaintest.Partitioned, rng *rand.Rand) []string {
	var events []string
	note := func(format string, args ...any) { events = append(events, fmt.Sprintf(format, args...)) }
	pause := func(lo, hi int) { time.Sleep(time.Duration(lo+rng.IntN(hi-lo)) * time.Millisecond) }
	leader := func() int {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if l := p.LeaderMaster(); l >= 0 {
				return l
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("seed %d: no master leads", p.Seed())
		return -1
	}

	pause(50, 150)
	first := rng.IntN(p.Servers())
	p.KillServer(first)
	note("kill server %d", first)
	pause(failureTimeoutMs, failureTimeoutMs+150) // the chains are reconfiguring
	l := leader()
	p.KillMaster(l)
	note("kill leading master %d", l)

	pause(200, 400)
	second := (first + 1 + rng.IntN(p.Servers()-1)) % p.Servers()
	p.KillServer(second)
	note("kill server %d", second)
	pause(failureTimeoutMs/2, failureTimeoutMs)
	l = leader()
	p.PartitionMaster(l)
	note("partition leading master %d", l)
	pause(300, 500)
	p.HealMaster(l)
	note("heal master %d", l)

	pause(100, 200)
	p.RestartServer(first)
	p.RestartServer(second)
	note("restart servers %d and %d", first, second)
	added := p.AddServer()
	note("add server %d", added)
	return events
}

// waitBalanced waits until alive servers report and none holds two
// replicas more than another, or returns why not after d.
func waitBalanced(p *chaintest.Partitioned, alive int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		lo, hi, n := -1, 0, 0
		for _, s := range p.Layout().Servers {
			if s.Alive {
				n++
				hi = max(hi, s.Replicas)
				if lo < 0 || s.Replicas < lo {
					lo = s.Replicas
				}
			}
		}
		if n == alive && hi-lo <= 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d servers alive, holding between %d and %d replicas after %v", n, alive, lo, hi, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failureTimeoutMs is failureTimeout in milliseconds.
const failureTimeoutMs = int(failureTimeout / time.Millisecond)
