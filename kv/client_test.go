package kv_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/kv"
)

func TestClientEndToEnd(t *testing.T) {
	cl := startChain(t)
	ctx := testContext(t)
	kvc := cl.KV

	_, found, err := kvc.Get(ctx, "a")
	require.NoError(t, err)
	require.False(t, found)

	require.NoError(t, kvc.Put(ctx, "a", []byte("1")))
	require.NoError(t, kvc.Put(ctx, "b", []byte("2")))
	require.NoError(t, kvc.Put(ctx, "empty", nil))
	v, found, err := kvc.Get(ctx, "a")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, []byte("1"), v)
	v, found, err = kvc.Get(ctx, "empty")
	require.NoError(t, err)
	require.True(t, found)
	require.Empty(t, v)

	swapped, err := kvc.CompareAndSet(ctx, "a", []byte("1"), true, []byte("10"))
	require.NoError(t, err)
	require.True(t, swapped)
	swapped, err = kvc.CompareAndSet(ctx, "a", []byte("1"), true, []byte("11"))
	require.NoError(t, err)
	require.False(t, swapped, "stale expected value")
	swapped, err = kvc.CompareAndSet(ctx, "b", nil, false, []byte("x"))
	require.NoError(t, err)
	require.False(t, swapped, "b is present")
	swapped, err = kvc.CompareAndSet(ctx, "c", nil, false, []byte("3"))
	require.NoError(t, err)
	require.True(t, swapped, "put-if-absent")

	existed, err := kvc.Delete(ctx, "b")
	require.NoError(t, err)
	require.True(t, existed)
	existed, err = kvc.Delete(ctx, "b")
	require.NoError(t, err)
	require.False(t, existed)

	n, err := kvc.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	requireReplicas(t, ctx, cl, map[string][]byte{
		"a": []byte("10"), "c": []byte("3"), "empty": {},
	})
}

func TestClientInvalidKey(t *testing.T) {
	cl := startChain(t)
	ctx := testContext(t)
	long := strings.Repeat("k", kv.MaxKeyLen+1)
	for _, key := range []string{"", long} {
		require.ErrorIs(t, cl.KV.Put(ctx, key, nil), chain.ErrInvalidArgument)
		_, _, err := cl.KV.Get(ctx, key)
		require.ErrorIs(t, err, chain.ErrInvalidArgument)
		_, err = cl.KV.Delete(ctx, key)
		require.ErrorIs(t, err, chain.ErrInvalidArgument)
		_, err = cl.KV.CompareAndSet(ctx, key, nil, false, nil)
		require.ErrorIs(t, err, chain.ErrInvalidArgument)
	}
	require.NoError(t, cl.KV.Put(ctx, long[:kv.MaxKeyLen], []byte("max")))
}

// TestMalformedCommand sends payloads no kv.Client would: the chain
// answers each with ErrCommandFailed, no node crashes, and the store stays
// usable and consistent.
func TestMalformedCommand(t *testing.T) {
	cl := startChain(t)
	ctx := testContext(t)
	require.NoError(t, cl.KV.Put(ctx, "k", []byte("v")))

	for _, cmd := range []string{kv.CmdPut, kv.CmdDelete, kv.CmdCAS} {
		_, err := cl.Client.Do(ctx, cmd, []byte{0xff, 0x01})
		require.ErrorIs(t, err, chain.ErrCommandFailed, cmd)
		require.ErrorContains(t, err, "malformed", cmd)
	}
	_, err := cl.Client.Query(ctx, kv.QueryGet, nil)
	require.ErrorIs(t, err, chain.ErrCommandFailed)

	require.NoError(t, cl.KV.Put(ctx, "k2", []byte("v2")))
	for _, n := range cl.Nodes {
		require.NoError(t, n.Err(), "node %s still serves", n.ID())
	}
	requireReplicas(t, ctx, cl, map[string][]byte{"k": []byte("v"), "k2": []byte("v2")})
}

// TestConcurrentCASCounter increments one counter from several goroutines
// with read-CAS retry loops: CAS is atomic, so no increment is lost.
func TestConcurrentCASCounter(t *testing.T) {
	cl := startChain(t)
	ctx := testContext(t)
	const workers, perWorker = 4, 10

	var g errgroup.Group
	for range workers {
		g.Go(func() error {
			for range perWorker {
				if err := increment(ctx, cl.KV, "counter"); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	requireReplicas(t, ctx, cl, map[string][]byte{"counter": []byte(strconv.Itoa(workers * perWorker))})
}

// increment adds one to the decimal counter at key, retrying lost races.
func increment(ctx context.Context, kvc *kv.Client, key string) error {
	for {
		cur, found, err := kvc.Get(ctx, key)
		if err != nil {
			return err
		}
		n := 0
		if found {
			if n, err = strconv.Atoi(string(cur)); err != nil {
				return err
			}
		}
		swapped, err := kvc.CompareAndSet(ctx, key, cur, found, []byte(strconv.Itoa(n+1)))
		if err != nil || swapped {
			return err
		}
	}
}
