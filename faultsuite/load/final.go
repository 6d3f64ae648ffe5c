package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/faultsuite"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/kv"
)

// finalID is the recorder's client id of the final phase.
const finalID = 999_999

// final runs after heal with a fresh client: it appends until one append
// succeeds (ServingAfterMS), reads the whole log and every key (so that
// a lost write fails the checks), and fills in the final configuration
// and its highest commit point. Every step is bounded by -serve-bound.
func (r *loadRun) final(ctx context.Context, rep *faultsuite.Report) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	deadline := start.Add(r.o.serveBound)
	for i := 0; ; i++ {
		if r.appendOne(c, finalID, "z"+strconv.Itoa(i)+";") {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no write succeeded within %v of heal", r.o.serveBound)
		}
	}
	rep.ServingAfterMS = time.Since(start).Milliseconds()

	const page = 64
	for from := uint64(1); ; {
		ents, err := r.read(c, finalID, from, page)
		if err != nil {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("final read of the log from %d: %w", from, err)
			}
			continue
		}
		if len(ents) == 0 {
			break
		}
		from += uint64(len(ents))
	}
	k := kv.NewClient(c)
	for i := range r.o.keys {
		key := "k" + strconv.Itoa(i)
		for {
			if _, _, ok := r.kvGet(k, finalID, key); ok {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("final get of %s failed until %v after heal", key, r.o.serveBound)
			}
		}
	}
	return r.members(ctx, c, rep, deadline)
}

// members fills in the final configuration, from the masters, and the
// highest commit point its members report.
func (r *loadRun) members(ctx context.Context, c *chain.Client, rep *faultsuite.Report, deadline time.Time) error {
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	cfg, err := masterclient.FetchConfig(cctx, r.tr, r.o.masters...)
	if err != nil {
		return err
	}
	rep.Epoch = cfg.Epoch
	for _, m := range cfg.Members {
		rep.Members = append(rep.Members, m.ID)
		st, err := c.Status(cctx, m.Addr)
		if err != nil {
			return fmt.Errorf("status of %s: %w", m.ID, err)
		}
		rep.Commit = max(rep.Commit, st.CommitPoint)
	}
	return nil
}
