package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain/chaintest"
)

// checkTimeout bounds each history's check.
const checkTimeout = 90 * time.Second

// withCommandEntries adds to a log history, where the key-value commands
// also take offsets, one append for each command entry its reads saw:
// at the offset it was read at, from the history's start until the
// earliest read that returned it. chaintest.LogModel then checks the raw
// appends and reads as if every entry were an append: two reads that saw
// different entries at one offset, or a read that missed an entry
// acknowledged before it began, fail the check.
func withCommandEntries(ops []porcupine.Operation) []porcupine.Operation {
	seen := map[string]int64{} // command entry -> earliest return of a read of it
	for _, op := range ops {
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
		ops = append(ops, porcupine.Operation{
			ClientId: 1_000_000 + i,
			Input:    chaintest.LogInput{Op: chaintest.LogAppend, Data: e},
			Call:     0,
			Output:   chaintest.LogOutput{Offset: off},
			Return:   seen[e],
		})
	}
	return ops
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
