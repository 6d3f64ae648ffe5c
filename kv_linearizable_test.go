package chain_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/kv"
)

// TestKVLinearizableUnderFaults runs the example key-value store on a
// 3-node chain whose network delays, duplicates, reorders and drops
// messages: concurrent clients put, get, delete and compare-and-set a few
// hot keys; porcupine checks the history (ending with a read of every key
// after the network heals, so a lost acknowledged write shows up as a
// violation), and every replica ends with the same data.
func TestKVLinearizableUnderFaults(t *testing.T) {
	keys := []string{"a", "b", "c", "d"}
	for _, seed := range runSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			var mu sync.Mutex
			stores := make(map[int]*kv.Store)
			c, stopWatch := faultyChain(t, seed, func(i int, n *chain.Node) error {
				s := kv.New()
				mu.Lock()
				stores[i] = s
				mu.Unlock()
				return s.Register(n)
			})
			rec := chaintest.NewRecorder()
			const clients, opsPerClient = 6, 120
			var wg sync.WaitGroup
			for id := range clients {
				kvc := kv.NewClient(c.Client())
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(id)))
				wg.Go(func() {
					for op := range opsPerClient {
						key := keys[rng.IntN(len(keys))]
						value := fmt.Sprintf("c%d-%d", id, op)
						kvOperation(rec, kvc, id, rng, key, value)
					}
				})
			}
			wg.Wait()
			c.Network().ClearFaults()
			ctx := testCtx(t)
			require.NoError(t, c.WaitConverged(ctx), "seed %d", seed)
			final := kv.NewClient(c.Client())
			for _, key := range keys {
				p := rec.Begin(clients, chaintest.KVInput{Op: chaintest.KVGet, Key: key})
				v, found, err := final.Get(ctx, key)
				require.NoError(t, err, "seed %d", seed)
				p.End(chaintest.KVOutput{Value: string(v), Found: found})
			}
			require.Zero(t, stopWatch(), "seed %d", seed)
			chaintest.CheckLinearizable(t, chaintest.KVModel(), rec.Operations(), seed)
			mu.Lock()
			defer mu.Unlock()
			for i := 1; i < 3; i++ {
				require.Equal(t, stores[0].Snapshot(), stores[i].Snapshot(), "replica %d differs (seed %d)", i, seed)
			}
		})
	}
}

// kvOperation runs one random operation on key and records it.
func kvOperation(rec *chaintest.Recorder, kvc *kv.Client, id int, rng *rand.Rand, key, value string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	switch rng.IntN(4) {
	case 0:
		p := rec.Begin(id, chaintest.KVInput{Op: chaintest.KVGet, Key: key})
		v, found, err := kvc.Get(ctx, key)
		if err != nil {
			p.Discard()
			return
		}
		p.End(chaintest.KVOutput{Value: string(v), Found: found})
	case 1:
		p := rec.Begin(id, chaintest.KVInput{Op: chaintest.KVPut, Key: key, Value: value})
		if err := kvc.Put(ctx, key, []byte(value)); err != nil {
			p.Unknown(chaintest.KVOutput{Unknown: true})
			return
		}
		p.End(chaintest.KVOutput{})
	case 2:
		p := rec.Begin(id, chaintest.KVInput{Op: chaintest.KVDelete, Key: key})
		if _, err := kvc.Delete(ctx, key); err != nil {
			p.Unknown(chaintest.KVOutput{Unknown: true})
			return
		}
		p.End(chaintest.KVOutput{})
	default:
		// Compare-and-set from what a fresh read saw, so some succeed.
		cur, found, err := kvc.Get(ctx, key)
		if err != nil {
			return
		}
		in := chaintest.KVInput{Op: chaintest.KVCompareAndSet, Key: key, Value: value,
			Expected: string(cur), ExpectedFound: found}
		p := rec.Begin(id, in)
		swapped, err := kvc.CompareAndSet(ctx, key, cur, found, []byte(value))
		if err != nil {
			p.Unknown(chaintest.KVOutput{Unknown: true})
			return
		}
		p.End(chaintest.KVOutput{Swapped: swapped})
	}
}
