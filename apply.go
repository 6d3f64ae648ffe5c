package chain

import (
	"fmt"
	"time"

	"github.com/chainrep/chain/internal/replica"
	"github.com/chainrep/chain/wire"
)

// commitSaveInterval is how often the applier records the commit point in
// storage.
const commitSaveInterval = 100 * time.Millisecond

// runApplier applies committed entries in offset order to the handlers and
// the de-duplication table; at the tail it then replies to the clients.
func (n *Node) runApplier() {
	lastSave := time.Now()
	for {
		_, _, commit, changed := n.log.state()
		applied := n.applied.get()
		if applied >= commit {
			select {
			case <-changed:
				continue
			case <-n.lifecycle.done():
				return
			}
		}
		ents, err := n.log.entries(applied+1, commit+1, n.opts.maxBatchBytes)
		if err != nil {
			n.fail(err)
			return
		}
		n.applyBatch(ents)
		if time.Since(lastSave) >= commitSaveInterval {
			if err := n.saveCommit(); err != nil {
				n.fail(err)
				return
			}
			lastSave = time.Now()
		}
	}
}

// applyBatch applies ents, which follow the applied mark densely, and sends
// the tail's replies once the batch is applied.
func (n *Node) applyBatch(ents []Entry) {
	isTail := n.cfg.Load().role.IsTail()
	replies := make([]reply, 0, len(ents))
	n.stateMu.Lock()
	for i := range ents {
		e := &ents[i]
		out := n.applyEntry(e)
		if isTail && e.Client != "" && e.Offset > n.applied.replayedThrough {
			replies = append(replies, reply{to: e.Client, resp: wire.ClientResponse{
				ID: e.Seq, Offset: out.offset, Result: out.result, Err: out.err,
			}})
		}
	}
	n.ordered.removeApplied(ents) // a no-op unless the node is (or was) head
	n.sessionCount.Store(int64(n.sessions.Len()))
	n.stateMu.Unlock()
	n.applied.set(ents[len(ents)-1].Offset)
	n.counters.applied.Add(uint64(len(ents)))
	n.sendReplies(replies)
	n.counters.replies.Add(uint64(len(replies)))
}

// reply is a response the tail owes a client.
type reply struct {
	to   string
	resp wire.ClientResponse
}

// sendReplies sends replies, in order, with one message per client: a
// client's only reply alone, several in ResponseBatches of at most the
// batch bytes of results each.
func (n *Node) sendReplies(replies []reply) {
	if len(replies) == 1 {
		n.send(replies[0].to, &replies[0].resp)
		return
	}
	type pending struct {
		resps []wire.ClientResponse
		bytes int
	}
	byClient := make(map[string]*pending)
	var order []string // clients in order of their first reply
	flush := func(to string, p *pending) {
		if len(p.resps) == 1 {
			n.send(to, &p.resps[0])
		} else {
			n.send(to, &wire.ResponseBatch{Responses: p.resps})
		}
	}
	for _, r := range replies {
		p := byClient[r.to]
		if p == nil {
			p = &pending{}
			byClient[r.to] = p
			order = append(order, r.to)
		}
		size := len(r.resp.Result) + wire.EntryOverhead
		if len(p.resps) > 0 && p.bytes+size > n.opts.maxBatchBytes {
			flush(r.to, p)
			*p = pending{}
		}
		p.resps = append(p.resps, r.resp)
		p.bytes += size
	}
	for _, to := range order {
		flush(to, byClient[to])
	}
}

// applyEntry applies one committed entry, or returns the outcome of its
// earlier application if it is a retried command. n.stateMu must be held.
func (n *Node) applyEntry(e *Entry) outcome {
	if e.Client != "" {
		out, v := n.sessions.Apply(entryCommand(e), entryWrite(e))
		if out, dup := knownOutcome(out, v, e.Offset); dup {
			return out
		}
	}
	out := outcome{offset: e.Offset}
	if e.Command != "" {
		h, ok := n.commandHandler(e.Command)
		if !ok {
			out.err = &RemoteError{Code: wire.CodeUnknownCommand, Message: quote(e.Command)}
		} else {
			out.result, out.err = n.runHandler("command "+quote(e.Command), func() ([]byte, error) {
				return h(n.lifecycle.ctx, *e)
			})
		}
	}
	if e.Client != "" {
		n.sessions.Record(entryCommand(e), out)
	}
	if n.opts.applyObserver != nil {
		n.opts.applyObserver(*e)
	}
	return out
}

// runHandler runs a command or query handler and turns what it returns into
// a reply: an error becomes ErrCommandFailed with its text, a result over
// the entry size limit becomes ErrTooLarge, and a panic becomes
// ErrCommandFailed (logged), so a handler bug on one input does not take
// the process down. The same input fails the same way on every node.
func (n *Node) runHandler(what string, h func() ([]byte, error)) (result []byte, rerr *RemoteError) {
	defer func() {
		if p := recover(); p != nil {
			n.logger.Error("handler panicked", "handler", what, "panic", p)
			result, rerr = nil, &RemoteError{Code: wire.CodeCommandFailed, Message: fmt.Sprintf("%s panicked: %v", what, p)}
		}
	}()
	result, err := h()
	if err != nil {
		return nil, &RemoteError{Code: wire.CodeCommandFailed, Message: err.Error()}
	}
	if len(result) > n.opts.maxEntrySize {
		return nil, &RemoteError{Code: wire.CodeTooLarge, Message: what + ": " + replica.SizeMessage("result", len(result), n.opts.maxEntrySize)}
	}
	return result, nil
}
