package chaintest

import (
	"fmt"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// Bounds of the flood step.
const (
	// floodCalls is how many appends the flood client makes beside its
	// held one: more than a session's window of results (4096), so that
	// they finish past the held call's number while it waits.
	floodCalls = 4500
	// floodRetry is the flood client's retry interval: how long its held
	// call waits before it sends again.
	floodRetry = 2 * time.Second
	// floodInflight is the flood client's bound on calls in flight, the
	// most a client may have (a session's window): a client the tail
	// cannot reach has each call answered at its retry, and floodCalls
	// must still finish in a few retry intervals.
	floodInflight = 4096
)

// flood has one client's call wait while over 4096 of the client's other
// appends finish (defect 6 of the safety issue: the session's mark passed
// the waiting call, and its retry was refused as applied before though it
// never was): after a first append starts the client's session (if it
// fails, say for want of room in the session table, there is no flood), the
// requests of its held call are all lost, then floodCalls appends follow,
// 2% of their requests lost for a second, while the held call waits
// floodRetry to send again. Its calls are raw appends beside the
// workload; each is checked as a write (acknowledged at its offset, and
// in the log if refused as applied before).
func (r *simRun) flood(st Step) string {
	cl := r.c.Client(chain.WithRetryInterval(floodRetry, floodRetry), chain.WithMaxInflight(floodInflight))
	requests := []wire.MessageKind{wire.KindClientRequest, wire.KindRequestBatch}
	appendOne := func(data string) error {
		ctx, cancel := r.callContext()
		defer cancel()
		off, err := cl.Append(ctx, []byte(data))
		r.noteOutcome("the flood client", r.histories[0], Outcome{Write: &Write{Data: []byte(data), Offset: off}, Err: err})
		return err
	}
	r.clientWG.Go(func() {
		if err := appendOne("flood-start"); err != nil {
			r.tl.note("flood: the flood client's first append failed, no flood: %v", err)
			return
		}
		// The held call is sent, and lost, within the millisecond the
		// rule lasts: sending takes no virtual time.
		r.addRule(time.Millisecond, inmem.Rule{From: cl.Addr(), Kinds: requests, Faults: inmem.Faults{Drop: 1}})
		r.clientWG.Go(func() { _ = appendOne("flood-held") })
		time.Sleep(2 * time.Millisecond)
		r.addRule(time.Second, inmem.Rule{From: cl.Addr(), Kinds: requests, Faults: inmem.Faults{Drop: 0.02}})
		for k := range floodCalls {
			r.clientWG.Go(func() { _ = appendOne(fmt.Sprintf("flood-%d", k)) })
		}
	})
	return fmt.Sprintf("%s: from %s, one append held while %d others run, 2%% of their requests lost for 1s", st, cl.Addr(), floodCalls)
}
