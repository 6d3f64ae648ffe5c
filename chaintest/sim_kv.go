package chaintest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

// The commands and query of KVWorkload's state machine.
const (
	kvPutCommand = "sim.put"
	kvDelCommand = "sim.del"
	kvCASCommand = "sim.cas"
	kvGetQuery   = "sim.get"
)

// KVWorkload is a key-value store: clients put, delete, compare-and-set
// and get a few hot keys (commands through chain.Client.Submit, reads
// through Query), checked with KVModel. Its state machine is a map, one
// per node incarnation; every command carries a unique tag so that each
// write's entry is unique in the log.
type KVWorkload struct {
	// Keys is the number of keys; default 4.
	Keys int
}

// Name implements Workload.
func (KVWorkload) Name() string { return "kv" }

// Model implements Workload.
func (KVWorkload) Model() porcupine.Model { return KVModel() }

// Setup implements Workload: it registers a fresh map's handlers. The
// node runs commands one at a time and never with a query, so the map
// needs no lock.
func (KVWorkload) Setup(n *chain.Node) error {
	m := map[string]string{}
	handle := func(name string, apply func(f [][]byte) []byte) error {
		return n.Handle(name, func(_ context.Context, e chain.Entry) ([]byte, error) {
			f, err := kvFields(e.Data)
			if err != nil {
				return nil, err
			}
			return apply(f), nil
		})
	}
	err := errors.Join(
		handle(kvPutCommand, func(f [][]byte) []byte { m[string(f[0])] = string(f[1]); return nil }),
		handle(kvDelCommand, func(f [][]byte) []byte { delete(m, string(f[0])); return nil }),
		handle(kvCASCommand, func(f [][]byte) []byte {
			key, found := string(f[0]), len(f[2]) == 1
			cur, ok := m[key]
			if ok != found || (ok && cur != string(f[3])) {
				return []byte{0}
			}
			m[key] = string(f[1])
			return []byte{1}
		}),
	)
	if err != nil {
		return err
	}
	return n.HandleQuery(kvGetQuery, func(_ context.Context, q []byte) ([]byte, error) {
		v, ok := m[string(q)]
		if !ok {
			return nil, nil
		}
		return append([]byte{1}, v...), nil
	})
}

// kvKey returns the name of key i.
func kvKey(i int) string { return "k" + strconv.Itoa(i) }

func (w KVWorkload) keys() int {
	if w.Keys <= 0 {
		return 4
	}
	return w.Keys
}

// Operate implements Workload: gets, puts, deletes and compare-and-sets
// from what a get just saw (so that some succeed).
func (w KVWorkload) Operate(ctx context.Context, op Operation) Outcome {
	key := kvKey(op.Rand.IntN(w.keys()))
	value := fmt.Sprintf("c%d-%d", op.ID, op.Seq)
	roll := op.Rand.IntN(20)
	switch {
	case op.Kind == ReadOp || (op.Kind == AnyOp && roll < 6):
		_, _, err := w.get(ctx, op, key)
		return Outcome{Err: err}
	case roll < 13:
		return w.write(ctx, op, KVInput{Op: KVPut, Key: key, Value: value}, kvPutCommand, key, value, value)
	case op.Kind == WriteOp || roll < 15:
		return w.write(ctx, op, KVInput{Op: KVDelete, Key: key, Value: value}, kvDelCommand, key, value)
	}
	cur, found, err := w.get(ctx, op, key)
	if err != nil {
		return Outcome{Err: err}
	}
	in := KVInput{Op: KVCompareAndSet, Key: key, Value: value, Expected: cur, ExpectedFound: found}
	flag := ""
	if found {
		flag = "1"
	}
	return w.write(ctx, op, in, kvCASCommand, key, value, flag, cur)
}

// write submits command with fields and records it as in.
func (KVWorkload) write(ctx context.Context, op Operation, in KVInput, command string, fields ...string) Outcome {
	data := kvEncode(fields...)
	p := op.Recorder.Begin(op.ID, in)
	res, err := op.Client.Submit(ctx, command, data)
	wr := &Write{Command: command, Data: data}
	if err != nil {
		if definitelyRefused(err) {
			p.Discard()
			return Outcome{Err: err}
		}
		p.Unknown(KVOutput{Unknown: true})
		return Outcome{Write: wr, Err: err}
	}
	wr.Offset = res.Offset
	p.End(KVOutput{Swapped: len(res.Data) == 1 && res.Data[0] == 1})
	return Outcome{Write: wr}
}

// get reads key and records the read; a failed read is discarded.
func (KVWorkload) get(ctx context.Context, op Operation, key string) (string, bool, error) {
	p := op.Recorder.Begin(op.ID, KVInput{Op: KVGet, Key: key})
	out, err := op.Client.Query(ctx, kvGetQuery, []byte(key))
	if err != nil {
		p.Discard()
		return "", false, err
	}
	found := len(out) > 0
	value := ""
	if found {
		value = string(out[1:])
	}
	p.End(KVOutput{Value: value, Found: found})
	return value, found, nil
}

// Final implements Workload: it gets every key.
func (w KVWorkload) Final(ctx context.Context, op Operation) error {
	for i := range w.keys() {
		if _, _, err := w.get(ctx, op, kvKey(i)); err != nil {
			return fmt.Errorf("get %s: %w", kvKey(i), err)
		}
	}
	return nil
}

// kvEncode encodes fields, each prefixed with its length.
func kvEncode(fields ...string) []byte {
	var b []byte
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// kvFields decodes what kvEncode encoded.
func kvFields(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, fmt.Errorf("malformed command")
		}
		out = append(out, b[k:k+int(n)])
		b = b[k+int(n):]
	}
	if len(out) < 4 {
		out = append(out, make([][]byte, 4-len(out))...)
	}
	return out, nil
}
