package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"

	"github.com/chainrep/chain/internal/launch"
)

// demo runs a scripted sequence of operations through the cluster's client,
// printing each one and its outcome, then checks that every replica holds
// the same data. It fails if an outcome is not the expected one.
func demo(ctx context.Context, out io.Writer, cl *launch.Chain) error {
	kvc := cl.KV
	step := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	expect := func(what string, got, want bool) error {
		if got != want {
			return fmt.Errorf("%s: got %t, want %t", what, got, want)
		}
		return nil
	}

	if err := kvc.Put(ctx, "greeting", []byte("hello")); err != nil {
		return err
	}
	step("put    greeting = %q", "hello")
	if err := kvc.Put(ctx, "color", []byte("blue")); err != nil {
		return err
	}
	step("put    color = %q", "blue")

	v, found, err := kvc.Get(ctx, "greeting")
	if err != nil {
		return err
	}
	step("get    greeting -> %q (found=%t)", v, found)
	if err := expect("get greeting found", found && string(v) == "hello", true); err != nil {
		return err
	}

	swapped, err := kvc.CompareAndSet(ctx, "greeting", []byte("hello"), true, []byte("hello, world"))
	if err != nil {
		return err
	}
	step("cas    greeting %q -> %q: swapped=%t", "hello", "hello, world", swapped)
	if err := expect("cas greeting", swapped, true); err != nil {
		return err
	}

	swapped, err = kvc.CompareAndSet(ctx, "greeting", []byte("hello"), true, []byte("bye"))
	if err != nil {
		return err
	}
	step("cas    greeting %q -> %q: swapped=%t (value had changed)", "hello", "bye", swapped)
	if err := expect("stale cas greeting", swapped, false); err != nil {
		return err
	}

	if _, err := kvc.Delete(ctx, "counter"); err != nil { // left by an earlier run on -data
		return err
	}
	swapped, err = kvc.CompareAndSet(ctx, "counter", nil, false, []byte("1"))
	if err != nil {
		return err
	}
	step("cas    counter absent -> %q: swapped=%t (put-if-absent)", "1", swapped)
	if err := expect("put-if-absent counter", swapped, true); err != nil {
		return err
	}

	existed, err := kvc.Delete(ctx, "color")
	if err != nil {
		return err
	}
	step("delete color: existed=%t", existed)
	if err := expect("delete color", existed, true); err != nil {
		return err
	}

	_, found, err = kvc.Get(ctx, "color")
	if err != nil {
		return err
	}
	step("get    color -> found=%t", found)
	if err := expect("get deleted color", found, false); err != nil {
		return err
	}

	n, err := kvc.Len(ctx)
	if err != nil {
		return err
	}
	step("len    -> %d keys", n)
	return checkReplicas(ctx, out, cl)
}

// checkReplicas waits until every node has applied the chain's commit
// point and requires their stores to be equal.
func checkReplicas(ctx context.Context, out io.Writer, cl *launch.Chain) error {
	offset, err := cl.WaitConverged(ctx)
	if err != nil {
		return err
	}
	want := cl.Nodes[len(cl.Nodes)-1].Store.Snapshot()
	for _, n := range cl.Nodes {
		got := n.Store.Snapshot()
		if !maps.EqualFunc(got, want, bytes.Equal) {
			return fmt.Errorf("node %s diverged from the tail at offset %d: %q vs %q", n.ID(), offset, got, want)
		}
		fmt.Fprintf(out, "node %s (%s): %d keys, applied through offset %d\n", n.ID(), n.Role(), len(got), offset)
	}
	fmt.Fprintln(out, "all replicas hold the same data")
	return nil
}
