package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/wire"
)

// serveProbes asks each node at addrs, at once, for the commit point, as
// a client would, and returns for each the refusal that says it does not
// serve, or nil: a node that answers, or redirects to the tail (it serves
// its own role), serves. A node that does not answer before ctx ends gets
// nil too: its status call already told. A node's status answers whether
// it serves or not; this asks the admission rule, which alone knows
// whether the node is fenced.
func serveProbes(ctx context.Context, tr chain.Transport, addrs []string) ([]*wire.RemoteError, error) {
	out := make([]*wire.RemoteError, len(addrs))
	if len(addrs) == 0 {
		return out, nil
	}
	ep, err := tr.Listen("")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	defer ep.Close()
	ids := map[uint64]int{}
	for i, addr := range addrs {
		id := rand.Uint64() | 1
		ids[id] = i
		if err := ep.Send(ctx, addr, &wire.ClientRequest{Op: wire.OpLatest, ID: id}); err != nil {
			delete(ids, id)
		}
	}
	for len(ids) > 0 {
		select {
		case in, ok := <-ep.Receive():
			if !ok {
				return out, nil
			}
			resp, isResp := in.Msg.(*wire.ClientResponse)
			if !isResp || auth.Authorize(in.Msg, in.Peer) != nil {
				continue
			}
			i, asked := ids[resp.ID]
			if !asked {
				continue
			}
			delete(ids, resp.ID)
			out[i] = notServing(resp.Err)
		case <-ctx.Done():
			return out, nil
		}
	}
	return out, nil
}

// notServing returns err when it says the node does not serve (stopped,
// fenced, catching up), nil for an answer or a redirect.
func notServing(err *wire.RemoteError) *wire.RemoteError {
	if err == nil || err.Code == wire.CodeNotTail || err.Code == wire.CodeNotHead || err.Code == wire.CodeStaleEpoch {
		return nil
	}
	return err
}

// probeProblem is the row's problem for a probe's refusal, and whether
// the node still serves: a busy node (a new tail catching up) refuses
// reads for a while but takes part in writes.
func probeProblem(r *wire.RemoteError) (problem string, serving bool) {
	msg := r.Message
	if msg == "" {
		msg = r.Error()
	}
	if r.Code == wire.CodeBusy {
		return "busy: " + msg, true
	}
	return msg, false
}

// chainProblems is the rule of status: why the chain cannot serve, one
// reason per node or master, or none. rows are the nodes, the first
// members of them the chain's members (the others join: they do not stop
// the chain); masters are the masters' states, none without -master. The
// chain cannot serve when a member has a problem (every member takes
// every write) or, with masters, when none leads (no configuration can
// change, and the nodes fence themselves). A row's Problem with Serving
// set (busy) is shown, not counted.
func chainProblems(rows []nodeStatus, members int, masters []masterState) []string {
	var out []string
	leads := len(masters) == 0
	if len(masters) > 0 {
		reachable := 0
		for _, m := range masters {
			leads = leads || m.State == "leader"
			if m.State != "unreachable" {
				reachable++
			}
		}
		if !leads {
			out = append(out, fmt.Sprintf("no master leads (%d of %d reachable)", reachable, len(masters)))
		}
	}
	if members == 0 && leads { // without a leader, no members is not knowing them
		out = append(out, "the chain has no members")
	}
	for _, r := range rows[:members] {
		if !r.Serving {
			out = append(out, r.ID+" "+r.Problem)
		}
	}
	return out
}

// errCannotServe is returned by status when the chain cannot serve.
type errCannotServe []string

func (e errCannotServe) Error() string {
	return "the chain cannot serve: " + strings.Join(e, "; ")
}
