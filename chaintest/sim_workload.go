package chaintest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/anishathalye/porcupine"

	"github.com/chainrep/chain"
)

// Workload is the application a simulation runs (see Simulate): its state
// machine, registered on every node, and the operations its clients
// issue, recorded for a linearizability check. Implement it to run your
// own state machine under the simulation's faults; LogWorkload and
// KVWorkload are the built-in ones.
//
// A Workload is shared by every schedule and every client of a run and
// must be safe for concurrent use; its per-node state belongs in what
// Setup registers.
type Workload interface {
	// Name names the workload in schedules.
	Name() string
	// Setup registers the state machine's handlers on a node. It runs
	// before every start of every node, restarts included, so each
	// incarnation starts from empty state and replays the log.
	Setup(n *chain.Node) error
	// Model is the porcupine model of the operations recorded.
	Model() porcupine.Model
	// Operate issues one operation (or a few, such as a read and the
	// compare-and-set it decides) through op.Client, records each with
	// op.Recorder under client op.ID, and returns its outcome. Writes
	// must carry payloads no other write shares (op.ID and op.Seq make
	// one).
	Operate(ctx context.Context, op Operation) Outcome
	// Final records reads that observe every acknowledged write (every
	// key, the whole log), so that a lost write fails the check. It runs
	// once, after the faults, with a fresh client.
	Final(ctx context.Context, op Operation) error
}

// OpKind says what Operate must issue.
type OpKind int

// The kinds of operation.
const (
	// AnyOp lets the workload choose.
	AnyOp OpKind = iota
	// WriteOp asks for a write only.
	WriteOp
	// ReadOp asks for a read only.
	ReadOp
)

// Operation is one call of Workload.Operate or Workload.Final.
type Operation struct {
	Client   *chain.Client
	Recorder *Recorder
	// ID is the recorder's client id: one sequential process.
	ID int
	// Seq counts the client's operations, for unique payloads.
	Seq int
	// Rand is the client's random source.
	Rand *rand.Rand
	// Kind is what to issue.
	Kind OpKind
	// Acked is the highest offset of a write acknowledged so far in the
	// run: a hint for reading recent entries, where a stale read shows.
	Acked uint64
}

// Write is a write an operation made: what it wrote and, once
// acknowledged, where. The simulation checks that the final log holds each
// acknowledged write at its offset, and that a write refused with
// chain.ErrResultExpired ("applied before") is in the log.
type Write struct {
	// Command is the entry's command ("" for a raw append).
	Command string
	Data    []byte
	// Offset is the offset the chain acknowledged; 0 if it did not.
	Offset uint64
}

// Outcome is what an operation did: the write it made, if any (nil for a
// read), and the error of its last call.
type Outcome struct {
	Write *Write
	Err   error
}

// LogWorkload is the raw log: clients append unique payloads and read
// ranges of committed entries (chain.Client.Append and Read), checked with
// LogModel. It registers no handler.
type LogWorkload struct{}

// Name implements Workload.
func (LogWorkload) Name() string { return "log" }

// Setup implements Workload; a raw log needs no handler.
func (LogWorkload) Setup(*chain.Node) error { return nil }

// Model implements Workload.
func (LogWorkload) Model() porcupine.Model { return LogModel() }

// Operate implements Workload: three appends for each read, by default.
func (LogWorkload) Operate(ctx context.Context, op Operation) Outcome {
	if op.Kind == WriteOp || (op.Kind == AnyOp && op.Rand.IntN(4) > 0) {
		data := fmt.Sprintf("c%d-%d", op.ID, op.Seq)
		p := op.Recorder.Begin(op.ID, LogInput{Op: LogAppend, Data: data})
		off, err := op.Client.Append(ctx, []byte(data))
		w := &Write{Data: []byte(data)}
		if err != nil {
			if definitelyRefused(err) {
				p.Discard()
				return Outcome{Err: err}
			}
			p.Unknown(LogOutput{Unknown: true})
			return Outcome{Write: w, Err: err}
		}
		p.End(LogOutput{Offset: off})
		w.Offset = off
		return Outcome{Write: w}
	}
	from := 1 + op.Rand.Uint64N(op.Acked+2) // anywhere, or just past the end
	if op.Rand.IntN(2) == 0 && op.Acked > 8 {
		from = op.Acked - 8 + op.Rand.Uint64N(10) // the recent entries
	}
	in := LogInput{Op: LogRead, From: from, Max: 1 + op.Rand.IntN(5)}
	_, err := recordRead(ctx, op, in)
	return Outcome{Err: err}
}

// recordRead reads as in asks and records the read; a failed read is
// discarded (it observed nothing).
func recordRead(ctx context.Context, op Operation, in LogInput) ([]chain.Entry, error) {
	p := op.Recorder.Begin(op.ID, in)
	ents, err := op.Client.Read(ctx, in.From, in.Max)
	if err != nil {
		p.Discard()
		return nil, err
	}
	out := LogOutput{}
	for _, e := range ents {
		out.Entries = append(out.Entries, string(e.Data))
	}
	p.End(out)
	return ents, nil
}

// Final implements Workload: it reads the whole log.
func (LogWorkload) Final(ctx context.Context, op Operation) error {
	const page = 64
	for from := uint64(1); ; {
		ents, err := recordRead(ctx, op, LogInput{Op: LogRead, From: from, Max: page})
		if err != nil {
			return fmt.Errorf("read the log from %d: %w", from, err)
		}
		if len(ents) == 0 {
			return nil
		}
		from += uint64(len(ents))
	}
}

// definitelyRefused reports whether a write's error says it was not
// applied and never will be: the head refused it before ordering it.
func definitelyRefused(err error) bool { return errors.Is(err, chain.ErrTooManySessions) }
