package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/faultsuite"
	"github.com/chainrep/chain/kv"
)

// kvOp issues one get, put or get-then-compare-and-set of one of the keys
// and records it; it returns false if a write's outcome is unknown.
// Values are unique ("v<client>.<seq>;") and last in the command's
// payload, so the host finds each write in the log.
func (r *loadRun) kvOp(_ context.Context, c *chain.Client, rng *rand.Rand, id, seq int) bool {
	k := kv.NewClient(c)
	key := "k" + strconv.Itoa(rng.IntN(r.o.keys))
	value := fmt.Sprintf("v%d.%d;", id, seq)
	roll := rng.IntN(10)
	if roll < 3 {
		r.kvGet(k, id, key)
		return true
	}
	in := chaintest.KVInput{Op: chaintest.KVPut, Key: key, Value: value}
	if roll >= 7 {
		cur, found, ok := r.kvGet(k, id, key)
		if !ok {
			return true
		}
		in = chaintest.KVInput{Op: chaintest.KVCompareAndSet, Key: key, Value: value, Expected: cur, ExpectedFound: found}
	}
	ctx, cancel := r.opContext()
	defer cancel()
	p := r.rec.Begin(id, in)
	var swapped bool
	var err error
	if in.Op == chaintest.KVPut {
		err = k.Put(ctx, key, []byte(value))
	} else {
		swapped, err = k.CompareAndSet(ctx, key, []byte(in.Expected), in.ExpectedFound, []byte(value))
	}
	switch {
	case err == nil:
		p.End(chaintest.KVOutput{Swapped: swapped})
	case definitelyRefused(err):
		p.Discard()
	default:
		p.Unknown(chaintest.KVOutput{Unknown: true})
	}
	r.wrote(&r.kvWrites, faultsuite.Write{Data: value, Acked: err == nil}, err)
	return err == nil || definitelyRefused(err)
}

// kvGet reads key and records the read; a failed read is discarded.
func (r *loadRun) kvGet(k *kv.Client, id int, key string) (string, bool, bool) {
	ctx, cancel := r.opContext()
	defer cancel()
	p := r.rec.Begin(id, chaintest.KVInput{Op: chaintest.KVGet, Key: key})
	v, found, err := k.Get(ctx, key)
	if err != nil {
		p.Discard()
		r.count(err)
		return "", false, false
	}
	p.End(chaintest.KVOutput{Value: string(v), Found: found})
	return string(v), found, true
}

// logOp issues a raw append of a unique payload ("a<client>.<seq>;"),
// three times in four, or a read of a few entries, and records it; it
// returns false if an append's outcome is unknown.
func (r *loadRun) logOp(_ context.Context, c *chain.Client, rng *rand.Rand, id, seq int) bool {
	if rng.IntN(4) > 0 {
		return r.appendOne(c, id, fmt.Sprintf("a%d.%d;", id, seq))
	}
	r.mu.Lock()
	acked := r.acked
	r.mu.Unlock()
	from := 1 + rng.Uint64N(acked+2)
	if rng.IntN(2) == 0 && acked > 8 {
		from = acked - 8 + rng.Uint64N(10)
	}
	_, _ = r.read(c, id, from, 1+rng.IntN(5))
	return true
}

// appendOne appends data and records it.
func (r *loadRun) appendOne(c *chain.Client, id int, data string) bool {
	ctx, cancel := r.opContext()
	defer cancel()
	p := r.rec.Begin(id, chaintest.LogInput{Op: chaintest.LogAppend, Data: data})
	off, err := c.Append(ctx, []byte(data))
	switch {
	case err == nil:
		p.End(chaintest.LogOutput{Offset: off})
		r.mu.Lock()
		r.acked = max(r.acked, off)
		r.mu.Unlock()
	case definitelyRefused(err):
		p.Discard()
	default:
		p.Unknown(chaintest.LogOutput{Unknown: true})
	}
	r.wrote(&r.appends, faultsuite.Write{Data: data, Offset: off, Acked: err == nil}, err)
	return err == nil || definitelyRefused(err)
}

// read reads up to n entries from from and records the read (a failed
// one is discarded); a command's entry is recorded as commandPayload.
func (r *loadRun) read(c *chain.Client, id int, from uint64, n int) ([]chain.Entry, error) {
	ctx, cancel := r.opContext()
	defer cancel()
	p := r.rec.Begin(id, chaintest.LogInput{Op: chaintest.LogRead, From: from, Max: n})
	ents, err := c.Read(ctx, from, n)
	if err != nil {
		p.Discard()
		r.count(err)
		return nil, err
	}
	out := chaintest.LogOutput{Entries: []string{}}
	for i, e := range ents {
		d := string(e.Data)
		if e.Command != "" {
			d = commandPayload(from+uint64(i), e)
		}
		out.Entries = append(out.Entries, d)
	}
	p.End(out)
	return ents, nil
}

// wrote records a write and tallies its error.
func (r *loadRun) wrote(to *[]faultsuite.Write, w faultsuite.Write, err error) {
	r.mu.Lock()
	*to = append(*to, w)
	r.mu.Unlock()
	if err != nil {
		r.count(err)
	}
}

// commandPrefix starts the log history's name of a command's entry.
const commandPrefix = "cmd@"

// commandPayload names the command entry e, read at offset off, in the log
// history: its offset, command and payload. The raw payloads all start
// with another letter.
func commandPayload(off uint64, e chain.Entry) string {
	return commandPrefix + strconv.FormatUint(off, 10) + ":" + e.Command + ":" + hex.EncodeToString(e.Data)
}

// commandOffset returns the offset commandPayload put in s.
func commandOffset(s string) (uint64, bool) {
	rest, ok := strings.CutPrefix(s, commandPrefix)
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, ":")
	off, err := strconv.ParseUint(n, 10, 64)
	return off, err == nil
}
