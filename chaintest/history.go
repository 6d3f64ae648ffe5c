package chaintest

import (
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Recorder records a concurrent history of operations for a linearizability
// check with porcupine (see [CheckLinearizable] and [Linearizable]).
//
// Each client goroutine brackets every operation it issues: it calls
// [Recorder.Begin] immediately before issuing the operation and exactly one
// of [PendingOp.End], [PendingOp.Unknown] or [PendingOp.Discard] immediately
// after the operation returns. Timestamps are read from the monotonic clock
// and expressed as nanoseconds since the Recorder was created, so the
// recorded interval [Call, Return] always contains the real interval in
// which the operation could have taken effect.
//
// A Recorder is safe for concurrent use by any number of goroutines. The zero
// value is not usable; create one with [NewRecorder].
type Recorder struct {
	start time.Time // carries a monotonic clock reading

	mu   sync.Mutex
	ops  []porcupine.Operation // completed and unknown operations, in completion order
	last int64                 // the last timestamp now returned
}

// NewRecorder returns an empty Recorder whose clock starts now.
func NewRecorder() *Recorder {
	return &Recorder{start: time.Now()}
}

// PendingOp is an operation that has been invoked but whose outcome has not
// yet been recorded. It is returned by [Recorder.Begin] and must be finished
// with exactly one call to [PendingOp.End], [PendingOp.Unknown] or
// [PendingOp.Discard]; finishing it twice panics. A PendingOp that is never
// finished is left out of the history, exactly as if it had been discarded.
//
// A PendingOp may be finished from a goroutine other than the one that began
// it.
type PendingOp struct {
	r      *Recorder
	client int
	input  any
	call   int64
	done   bool // guarded by r.mu
}

// now returns the time since the recorder was created, in nanoseconds,
// and never the same value twice: the monotonic clock, moved on by a
// nanosecond past the last value returned when it has not advanced (as in
// a synctest bubble, where work takes no time). So the timestamps follow
// the order in which Begin and End were called, and operations that ran
// one after the other at one instant are not recorded as concurrent.
func (r *Recorder) now() int64 {
	t := int64(time.Since(r.start))
	r.mu.Lock()
	defer r.mu.Unlock()
	t = max(t, r.last+1)
	r.last = t
	return t
}

// Begin records the invocation of an operation by client with the given
// input and returns the pending operation, to be finished when the call
// returns. Call it immediately before issuing the operation.
//
// client identifies the logical client (a sequential process) issuing the
// operation. porcupine uses it only to lay out its visualization, one row per
// client, so use small non-negative integers and let each client have at most
// one operation in progress at a time. An operation recorded with
// [PendingOp.Unknown] stays in progress forever, so a client that continues
// after an indeterminate outcome should preferably do so under a fresh client
// id (as Jepsen does), or its row in the visualization will overlap.
//
// input must be of the type the model expects ([LogInput] for [LogModel],
// [KVInput] for [KVModel]) and must not be modified afterwards.
func (r *Recorder) Begin(client int, input any) *PendingOp {
	return &PendingOp{r: r, client: client, input: input, call: r.now()}
}

// End records that the operation returned normally with output, which must
// be of the type the model expects ([LogOutput] for [LogModel], [KVOutput] for
// [KVModel]) and must not be modified afterwards. Call it immediately after
// the call returns.
func (p *PendingOp) End(output any) {
	ret := p.r.now()
	p.finish(output, ret, true)
}

// Unknown records an operation whose outcome is indeterminate: the call
// failed in a way (a timeout, a lost connection, a cancelled context) that
// leaves open whether it took effect. This is the usual fate of a write whose
// call returned an error other than a definite rejection.
//
// output is what the model is given for the operation; it should mark the
// outcome as unknown (for example LogOutput{Unknown: true} or
// KVOutput{Unknown: true}), and the model must accept any effect consistent
// with the input.
//
// The operation is recorded with Return = math.MaxInt64: it is treated as
// still in progress at the end of the history. porcupine may therefore
// linearize it at any point after its call. Placing it before some later
// operation models "it took effect and that operation observed it"; placing
// it after everything else models "it never took effect", because no
// recorded operation can observe an effect at the very end of the history.
// So one recorded operation covers both outcomes without the history having
// to guess which one happened.
//
// The price is search time: an operation that never returns is concurrent
// with everything after its call. [LogModel] and [KVModel] resolve most
// unknown writes before the search when every write has a distinct payload
// or value (see their documentation); with other models, or with repeated
// payloads, keep unknown operations few.
func (p *PendingOp) Unknown(output any) {
	p.finish(output, math.MaxInt64, true)
}

// Discard drops the operation from the history. Use it for an operation that
// failed and cannot have had any effect, typically a read-only operation
// (a read, get or query) whose call returned an error: it observed nothing,
// so it constrains nothing. Never discard a write whose call failed with an
// indeterminate error; record it with [PendingOp.Unknown] instead, otherwise
// a later read that observes its effect looks like a violation.
func (p *PendingOp) Discard() {
	p.finish(nil, 0, false)
}

func (p *PendingOp) finish(output any, ret int64, keep bool) {
	r := p.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.done {
		panic("chaintest: PendingOp finished twice")
	}
	p.done = true
	if !keep {
		return
	}
	r.ops = append(r.ops, porcupine.Operation{
		ClientId: p.client,
		Input:    p.input,
		Call:     p.call,
		Output:   output,
		Return:   ret,
	})
}

// Operations returns a copy of the recorded history: every operation
// finished with [PendingOp.End] or [PendingOp.Unknown] so far, in the order in
// which they were finished. Operations still pending, or discarded, are not
// included. The result may be passed to [CheckLinearizable] or
// [Linearizable]; call it after all client goroutines have stopped, so that
// every operation has been finished.
func (r *Recorder) Operations() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]porcupine.Operation, len(r.ops))
	copy(out, r.ops)
	return out
}

// Len returns the number of operations recorded so far (those finished with
// [PendingOp.End] or [PendingOp.Unknown]), the length of
// [Recorder.Operations].
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}
