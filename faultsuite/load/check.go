package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain/chaintest"
)

// checkTimeout bounds each history's check.
const checkTimeout = 90 * time.Second

// split separates the key-value and the log operations of a history.
func split(ops []porcupine.Operation) (kvOps, logOps []porcupine.Operation) {
	for _, op := range ops {
		if _, ok := op.Input.(chaintest.KVInput); ok {
			kvOps = append(kvOps, op)
		} else {
			logOps = append(logOps, op)
		}
	}
	return kvOps, logOps
}

// withCommandEntries adds to a log history, where the key-value commands
// also take offsets, one append for each command entry its reads saw, at
// the offset it was read at. Its interval is that of the key-value write
// in kvOps whose value ends the entry's payload (from the history's start
// if none does), cut at the earliest read that returned it.
// chaintest.LogModel then checks the raw appends and reads as if every
// entry were an append: two reads that saw different entries at one
// offset, or a read that missed an entry acknowledged before it began,
// fail the check.
func withCommandEntries(logOps, kvOps []porcupine.Operation) []porcupine.Operation {
	writes := map[string]porcupine.Operation{} // value -> its write
	for _, op := range kvOps {
		if in := op.Input.(chaintest.KVInput); in.Op != chaintest.KVGet {
			writes[in.Value] = op
		}
	}
	seen := map[string]int64{} // command entry -> earliest return of a read of it
	for _, op := range logOps {
		out, ok := op.Output.(chaintest.LogOutput)
		if !ok || op.Input.(chaintest.LogInput).Op != chaintest.LogRead {
			continue
		}
		for _, e := range out.Entries {
			if _, ok := commandOffset(e); !ok {
				continue
			}
			if r, ok := seen[e]; !ok || op.Return < r {
				seen[e] = op.Return
			}
		}
	}
	for i, e := range slices.Sorted(maps.Keys(seen)) {
		off, _ := commandOffset(e)
		call, ret := int64(0), seen[e]
		if w, ok := writes[commandValue(e)]; ok && w.Call < ret {
			call, ret = w.Call, min(ret, w.Return)
		}
		logOps = append(logOps, porcupine.Operation{
			ClientId: 1_000_000 + i,
			Input:    chaintest.LogInput{Op: chaintest.LogAppend, Data: e},
			Call:     call,
			Output:   chaintest.LogOutput{Offset: off},
			Return:   ret,
		})
	}
	return logOps
}

// commandValue returns the value a command entry named by commandPayload
// writes: the end of its payload from its last 'v' (the workload's values
// are "v<client>.<seq>;", its keys "k<n>").
func commandValue(s string) string {
	i := strings.LastIndexByte(s, ':')
	data, err := hex.DecodeString(s[i+1:])
	if err != nil {
		return ""
	}
	j := bytes.LastIndexByte(data, 'v')
	if j < 0 {
		return ""
	}
	return string(data[j:])
}

// verdict checks ops against model: "ok", or what is wrong, with the
// visualization moved beside the report.
func verdict(model porcupine.Model, ops []porcupine.Operation) string {
	ok, viz, err := chaintest.Linearizable(model, ops, checkTimeout)
	switch {
	case ok:
		return "ok"
	case errors.Is(err, chaintest.ErrCheckTimeout):
		return fmt.Sprintf("check did not finish in %v (%d operations)", checkTimeout, len(ops))
	case err != nil:
		return "not linearizable: " + err.Error()
	}
	return "not linearizable; visualization: " + viz
}
