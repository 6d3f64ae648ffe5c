package main

import (
	"os"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
)

func appendOp(client int, data string, off uint64, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: chaintest.LogInput{Op: chaintest.LogAppend, Data: data},
		Output: chaintest.LogOutput{Offset: off}, Call: call, Return: ret}
}

func readOp(client int, from uint64, entries []string, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: chaintest.LogInput{Op: chaintest.LogRead, From: from, Max: 5},
		Output: chaintest.LogOutput{Entries: entries}, Call: call, Return: ret}
}

// TestWithCommandEntries: the command entries the reads saw become
// appends at their offsets, so that the log model checks raw appends and
// reads around them, and catches reads that disagree about an offset.
func TestWithCommandEntries(t *testing.T) {
	put := commandPayload(2, chain.Entry{Command: "kv.put", Data: []byte("\x02k1\x03v1;")})
	cas := commandPayload(2, chain.Entry{Command: "kv.cas", Data: []byte("\x02k1\x03v2;")})
	kvPut := porcupine.Operation{ClientId: 3, Input: chaintest.KVInput{Op: chaintest.KVPut, Key: "k1", Value: "v1;"},
		Output: chaintest.KVOutput{}, Call: 3, Return: 9}
	require.Equal(t, "v1;", commandValue(put))
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		kv   []porcupine.Operation
		ok   bool
	}{
		{"a command between two appends", []porcupine.Operation{
			appendOp(0, "a0.1;", 1, 1, 2), appendOp(0, "a0.2;", 3, 10, 11),
			readOp(1, 1, []string{"a0.1;", put, "a0.2;"}, 12, 13), readOp(2, 2, []string{put}, 14, 15)}, nil, true},
		{"a command in its write's interval", []porcupine.Operation{
			appendOp(0, "a0.1;", 1, 1, 2), appendOp(0, "a0.2;", 3, 10, 11),
			readOp(1, 1, []string{"a0.1;", put, "a0.2;"}, 12, 13)}, []porcupine.Operation{kvPut}, true},
		{"a command acknowledged before an append that took its offset", []porcupine.Operation{
			appendOp(0, "a0.1;", 1, 1, 2), appendOp(0, "a0.2;", 2, 10, 11),
			readOp(1, 3, []string{put}, 12, 13)}, []porcupine.Operation{kvPut}, false},
		{"reads that disagree about offset 2", []porcupine.Operation{
			appendOp(0, "a0.1;", 1, 1, 2),
			readOp(1, 1, []string{"a0.1;", put}, 12, 13), readOp(2, 2, []string{cas}, 14, 15)}, nil, false},
		{"an append acknowledged at the command's offset", []porcupine.Operation{
			appendOp(0, "a0.1;", 2, 1, 2), readOp(1, 2, []string{put}, 12, 13)}, nil, false},
		{"a read that misses an acknowledged append", []porcupine.Operation{
			appendOp(0, "a0.1;", 1, 1, 2), readOp(1, 1, []string{put}, 12, 13)}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, viz, err := chaintest.Linearizable(chaintest.LogModel(), withCommandEntries(tc.ops, tc.kv), 0)
			require.NoError(t, err)
			require.Equal(t, tc.ok, ok)
			if viz != "" {
				t.Cleanup(func() { _ = os.Remove(viz) })
			}
		})
	}
}
