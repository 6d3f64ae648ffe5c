package chain_test

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/kv"
)

// kvStoreWorkload settles the writes whose calls failed with the final
// log (chaintest.ClientSettler): a put or compare-and-set by the value it
// writes, which no other write shares; a delete, whose entry holds only
// its key, by its client's address and its place among that client's
// deletes of the key.
var _ chaintest.ClientSettler = kvStoreWorkload{}

// kvDeleteTag is a delete's KVInput.Value (which the model ignores): the
// address of the client that sends it and a tag of its own.
func kvDeleteTag(client, tag string) string { return client + " " + tag }

// kvDeleteClient returns the client address of a delete's tag.
func kvDeleteClient(tag string) string {
	client, _, _ := strings.Cut(tag, " ")
	return client
}

// kvDeleteClass is the class of a delete of key (see
// chaintest.ClientSettler).
func kvDeleteClass(key string) string { return "delete " + key }

// WriteKey implements chaintest.Settler: the value a put or
// compare-and-set writes.
func (kvStoreWorkload) WriteKey(input any) string {
	if in, ok := input.(chaintest.KVInput); ok && (in.Op == chaintest.KVPut || in.Op == chaintest.KVCompareAndSet) {
		return in.Value
	}
	return ""
}

// WriteClient implements chaintest.ClientSettler: a delete's client and
// key.
func (kvStoreWorkload) WriteClient(input any) (client, class string, ok bool) {
	if in, isKV := input.(chaintest.KVInput); isKV && in.Op == chaintest.KVDelete {
		return kvDeleteClient(in.Value), kvDeleteClass(in.Key), true
	}
	return "", "", false
}

// Settle implements chaintest.Settler: it replays log through a kv.Store,
// so a compare-and-set's entry says whether it swapped.
func (kvStoreWorkload) Settle(log []chain.Entry) map[string]chaintest.SettledWrite {
	named, _ := replayKV(log)
	return named
}

// SettleUnnamed implements chaintest.ClientSettler: every delete, by
// offset. The workload does not record whether a delete found its key.
func (kvStoreWorkload) SettleUnnamed(log []chain.Entry) map[uint64]chaintest.UnnamedWrite {
	_, unnamed := replayKV(log)
	return unnamed
}

// replayKV applies log's kv commands to a kv.Store in log order and
// returns what each did: the puts and compare-and-sets by the value they
// write, the deletes by offset. Entries that are no well-formed kv
// command are left out.
func replayKV(log []chain.Entry) (map[string]chaintest.SettledWrite, map[uint64]chaintest.UnnamedWrite) {
	named := map[string]chaintest.SettledWrite{}
	unnamed := map[uint64]chaintest.UnnamedWrite{}
	s := kv.New()
	for _, e := range log {
		f, err := kvPayloadFields(e.Command, e.Data)
		if err != nil {
			continue
		}
		switch e.Command {
		case kv.CmdPut:
			s.Put(f.key, []byte(f.value))
			named[f.value] = chaintest.SettledWrite{Offset: e.Offset, Output: chaintest.KVOutput{}}
		case kv.CmdCAS:
			swapped := s.CompareAndSet(f.key, []byte(f.expected), f.expectedFound, []byte(f.value))
			named[f.value] = chaintest.SettledWrite{Offset: e.Offset, Output: chaintest.KVOutput{Swapped: swapped}}
		case kv.CmdDelete:
			s.Delete(f.key)
			unnamed[e.Offset] = chaintest.UnnamedWrite{Class: kvDeleteClass(f.key), Output: chaintest.KVOutput{}}
		}
	}
	return named, unnamed
}

// The payloads of package kv's commands, as its codec documents them.

func kvPutPayload(key, value string) []byte {
	return kvAppendBytes(kvAppendBytes(nil, key), value)
}

func kvKeyPayload(key string) []byte { return kvAppendBytes(nil, key) }

func kvCASPayload(key, expected string, expectedFound bool, value string) []byte {
	b := kvAppendBytes(nil, key)
	if expectedFound {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return kvAppendBytes(kvAppendBytes(b, expected), value)
}

func kvAppendBytes(b []byte, field string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(field))), field...)
}

// kvPayload is a decoded kv command payload.
type kvPayload struct {
	key, value, expected string
	expectedFound        bool
}

var errKVPayload = errors.New("malformed kv payload")

// kvPayloadFields decodes the payload of a kv command.
func kvPayloadFields(command string, b []byte) (kvPayload, error) {
	field := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", errKVPayload
		}
		f := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return f, nil
	}
	var p kvPayload
	var err error
	if p.key, err = field(); err != nil {
		return p, err
	}
	switch command {
	case kv.CmdPut:
		p.value, err = field()
	case kv.CmdCAS:
		if len(b) == 0 || b[0] > 1 {
			return p, errKVPayload
		}
		p.expectedFound, b = b[0] == 1, b[1:]
		if p.expected, err = field(); err == nil {
			p.value, err = field()
		}
	case kv.CmdDelete:
	default:
		return p, errKVPayload
	}
	if err == nil && len(b) > 0 {
		err = errKVPayload
	}
	return p, err
}
