package master

import (
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// peerProgress is what the leader's raft transport last heard from one
// master of the group: when it last answered an RPC successfully, and the
// highest index its log is known to match the leader's at.
type peerProgress struct {
	contact time.Time // zero: never answered
	match   uint64
	synced  bool // a replication RPC (not a heartbeat) succeeded: match is real
}

// progressTransport wraps the master's raft transport to record each
// peer's progress from the answers to the leader's RPCs, since raft does
// not expose its followers' match indexes. A successful AppendEntries
// carrying entries (or a previous entry to match) means the follower's log
// matches the leader's up to its last entry; a successful InstallSnapshot
// up to the snapshot's index; a successful heartbeat only that it is
// reachable, and its LastLog counts as its match once a replication RPC
// succeeded (its later entries came from the leader's pipeline). The
// record is what AddMaster decides a promotion on.
type progressTransport struct {
	raft.Transport
	clock func() time.Time

	mu    sync.Mutex
	peers map[raft.ServerAddress]peerProgress
}

// progressPreVoteTransport is a progressTransport over a transport that
// supports raft's pre-vote (raft uses pre-vote only when the transport
// says it can).
type progressPreVoteTransport struct {
	*progressTransport
	pv raft.WithPreVote
}

// RequestPreVote implements raft.WithPreVote.
func (t progressPreVoteTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return t.pv.RequestPreVote(id, target, args, resp)
}

// withProgress wraps tr; the returned transport and its recorder.
func withProgress(tr raft.Transport) (raft.Transport, *progressTransport) {
	p := &progressTransport{Transport: tr, clock: time.Now, peers: make(map[raft.ServerAddress]peerProgress)}
	if pv, ok := tr.(raft.WithPreVote); ok {
		return progressPreVoteTransport{progressTransport: p, pv: pv}, p
	}
	return p, p
}

// AppendEntries implements raft.Transport.
func (t *progressTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	err := t.Transport.AppendEntries(id, target, args, resp)
	if err == nil && resp.Success {
		heartbeat := args.PrevLogEntry == 0 && len(args.Entries) == 0
		t.record(target, func(p *peerProgress) {
			switch {
			case !heartbeat:
				p.synced = true
				p.match = max(p.match, args.PrevLogEntry+uint64(len(args.Entries)))
			case p.synced:
				p.match = max(p.match, resp.LastLog)
			}
		})
	}
	return err
}

// InstallSnapshot implements raft.Transport.
func (t *progressTransport) InstallSnapshot(id raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	err := t.Transport.InstallSnapshot(id, target, args, resp, data)
	if err == nil && resp.Success {
		t.record(target, func(p *peerProgress) {
			p.synced = true
			p.match = max(p.match, args.LastLogIndex)
		})
	}
	return err
}

// Close closes the wrapped transport if it has a Close method.
func (t *progressTransport) Close() error {
	if c, ok := t.Transport.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (t *progressTransport) record(target raft.ServerAddress, f func(*peerProgress)) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[target]
	p.contact = now
	f(&p)
	t.peers[target] = p
}

// progress returns what was last heard from the master at addr.
func (t *progressTransport) progress(addr raft.ServerAddress) peerProgress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[addr]
}

// forget drops the record of addr, so that a master added again starts
// from nothing heard.
func (t *progressTransport) forget(addr raft.ServerAddress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.peers, addr)
}
