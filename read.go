package chain

import "github.com/chainrep/chain/wire"

// pendingRead is a query, read or commit-point request waiting at the tail.
type pendingRead struct {
	client string
	req    *wire.ClientRequest
}

// runReadWorker answers queued queries and reads at the tail.
func (n *Node) runReadWorker(done <-chan struct{}) {
	for {
		select {
		case r := <-n.reads:
			n.quota.release(r.client)
			n.send(r.client, n.answerRead(r.req))
		case <-done:
			return
		}
	}
}

// answerRead serves one query, read or commit-point request.
func (n *Node) answerRead(req *wire.ClientRequest) *wire.ClientResponse {
	resp := &wire.ClientResponse{ID: req.ID}
	commit := n.log.CommitPoint()
	switch req.Op {
	case wire.OpLatest:
		resp.Offset = commit
	case wire.OpRead:
		ents, err := n.log.read(n.lifecycle.ctx, req.From, req.Max, n.opts.maxBatchBytes)
		if err != nil {
			resp.Err = remoteError(err)
			return resp
		}
		resp.Offset, resp.Entries = commit, ents
	case wire.OpQuery:
		// Every write acknowledged before the query arrived is committed
		// at or below commit; wait until the state includes it.
		if !n.applied.wait(commit, nil, n.lifecycle.done()) {
			resp.Err = &RemoteError{Code: wire.CodeClosed, Message: "node stopped"}
			return resp
		}
		h, _ := n.queryHandler(req.Name) // admit checked it exists
		n.stateMu.RLock()
		resp.Result, resp.Err = n.runHandler("query "+quote(req.Name), func() ([]byte, error) {
			return h(n.lifecycle.ctx, req.Data)
		})
		n.stateMu.RUnlock()
		n.counters.queries.Add(1)
	}
	return resp
}
