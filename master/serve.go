package master

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// announce sends chain id's configuration cfg to the chain's nodes the
// leader knows; nodes also learn it from the replies to their heartbeats.
// It is called without m.mu, as sends may block.
func (m *Master) announce(id string, cfg chain.Config) {
	m.mu.Lock()
	var to []string
	if m.cl != nil {
		if s := m.cl.chain(id); s != nil {
			for _, ns := range s.nodes {
				to = append(to, ns.addr)
			}
		}
	}
	m.mu.Unlock()
	u := m.update(id, 0)
	for _, addr := range to {
		m.send(addr, u)
	}
}

// leading reports whether this master leads its group, as raft knows it
// now: a deposed leader stops vouching for nodes at once, not at the
// detector's next tick.
func (m *Master) leadingNow() bool { return m.IsLeader() && m.raft.State() == raft.Leader }

// update is the reply to a heartbeat or a configuration request: the
// latest applied configuration of chain id and who leads.
func (m *Master) update(id string, reqID uint64) *wire.ConfigUpdate {
	leading := m.leadingNow()
	cfg, _ := m.ChainConfig(id)
	u := &wire.ConfigUpdate{
		ID:             reqID,
		Chain:          id,
		Config:         cfg,
		FenceAfter:     fenceAfter(m.opts.FailureTimeout),
		HeartbeatEvery: m.opts.FailureTimeout / 10,
		Leader:         m.Leader(),
		Follower:       !leading,
		LinkTimeout:    m.opts.FailureTimeout,
	}
	if leading {
		u.Leader = m.opts.Addr
	}
	return u
}

// serverUpdate is the reply to a server's beat: the replicas placed on it.
func (m *Master) serverUpdate(sb *wire.ServerBeat) *wire.ServerUpdate {
	leading := m.leadingNow()
	d, _ := m.fsm.current()
	u := &wire.ServerUpdate{
		Replicas:       d.replicasOf(sb.ID, sb.Incarnation),
		HeartbeatEvery: m.opts.FailureTimeout / 10,
		Leader:         m.Leader(),
		Follower:       !leading,
	}
	if leading {
		u.Leader = m.opts.Addr
	}
	return u
}

// clusterUpdate answers a ClusterRequest.
func (m *Master) clusterUpdate(reqID uint64) *wire.ClusterUpdate {
	leading := m.leadingNow()
	u := &wire.ClusterUpdate{ID: reqID, Cluster: m.Cluster(), Leader: m.Leader(), Follower: !leading}
	if leading {
		u.Leader = m.opts.Addr
	}
	if ps, err := m.Masters(); err == nil {
		for _, p := range ps {
			u.Masters = append(u.Masters, p.Addr)
		}
	}
	return u
}

// send sends msg to the node or client at to. A transport may block a send
// while it applies backpressure; the master waits at most a tenth of the
// failure timeout, so a stalled peer cannot hold up the failure detector
// or the heartbeats of the others (a lost message is resent: nodes
// heartbeat again and clients ask again).
func (m *Master) send(to string, msg chain.Message) {
	if to == "" {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.FailureTimeout/10)
	defer cancel()
	if err := m.ep.Send(ctx, to, msg); err != nil && !errors.Is(err, chain.ErrClosed) {
		m.log.Debug("send failed", "to", to, "err", err)
	}
}

// serve answers heartbeats, configuration requests and admin requests,
// from the senders their verified identity allows (see Unauthorized).
func (m *Master) serve() {
	for in := range m.ep.Receive() {
		if !m.guard.Admit(in.From, in.Msg, in.Peer) {
			continue
		}
		switch msg := in.Msg.(type) {
		case *wire.Heartbeat:
			vouch, confirmed, standby := m.heartbeat(msg)
			u := m.update(msg.Chain, 0)
			if vouch && !u.Follower {
				u.HeartbeatSent = msg.Sent
			}
			if confirmed && !u.Follower {
				u.Confirmed = msg.Incarnation
			}
			u.Standby = standby && !u.Follower
			m.send(in.From, u)
		case *wire.ConfigRequest:
			m.send(in.From, m.update(msg.Chain, msg.ID))
		case *wire.ServerBeat:
			m.serverBeat(msg)
			m.send(in.From, m.serverUpdate(msg))
		case *wire.ClusterRequest:
			m.send(in.From, m.clusterUpdate(msg.ID))
		case *wire.AdminRequest:
			m.serveAdmin(in.From, msg)
		}
	}
}

// heartbeat records a node's heartbeat on the leader. It reports whether
// the reply may vouch for the node (echo the heartbeat's send instant, so
// that the node's lease runs from it): only a leader with a working state
// vouches, and only for a node it has not decided to remove (see
// state.vouches for why the master waits out every lease it gave); and
// whether it confirms the node's place in the applied configuration (see
// state.confirms); and whether it tells the node it is a standby node
// (see state.standbyOf).
func (m *Master) heartbeat(hb *wire.Heartbeat) (vouch, confirmed, standby bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cl == nil {
		return false, false, false
	}
	m.syncLocked(time.Now())
	s := m.cl.chain(hb.Chain)
	if s == nil {
		return false, false, false
	}
	wasBehind, was := s.behind, s.cfg.Epoch
	switch s.heartbeat(hb, time.Now()) {
	case heartbeatNoChange:
	case heartbeatLostLog:
		m.log.Warn("node lost entries it had acknowledged (its storage is new, wiped or behind what it reported): "+
			"removed, it rejoins as a new node",
			"chain", hb.Chain, "id", hb.ID, "last", hb.Last, "incarnation", hb.Incarnation)
		m.kickDetector()
	case heartbeatCaughtUp:
		m.log.Info("new tail caught up with its predecessor", "chain", hb.Chain, "id", hb.ID, "epoch", hb.Epoch)
		m.kickDetector()
	case heartbeatRecorded:
		m.kickDetector()
	case heartbeatAdopted:
		m.log.Warn("a node runs a later configuration than the master's: the master lost its state (or was given an old one) "+
			"and adopts the chain's configuration",
			"chain", hb.Chain, "node", hb.ID, "epoch", hb.Epoch, "master_epoch", was, "members", hb.Config.Members)
		m.kickDetector()
	case heartbeatClaimed:
		m.log.Warn("a node the master does not know says a master held it as a standby node: the master lost its "+
			"state (or was given an old one) and takes it as one again",
			"chain", hb.Chain, "id", hb.ID, "addr", hb.Addr)
		m.kickDetector()
	}
	if s.behind > wasBehind {
		m.log.Error("a node is at a later epoch than the master: the master lost its state or was restarted with an old "+
			"configuration; it makes no change until a node reports the chain's configuration",
			"chain", hb.Chain, "node", hb.ID, "node_epoch", hb.Epoch, "master_epoch", s.cfg.Epoch)
	}
	d, ver := m.fsm.current()
	c, ok := d.chain(hb.Chain)
	return s.vouches(hb.ID), ok && ver == m.base && s.confirms(c, hb.ID, hb.Incarnation), s.standbyOf(hb.ID)
}

// serverBeat records a server's beat on the leader.
func (m *Master) serverBeat(sb *wire.ServerBeat) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cl == nil {
		return
	}
	m.syncLocked(time.Now())
	if m.cl.serverBeat(sb, time.Now()) {
		m.log.Info("server reported", "id", sb.ID, "addr", sb.Addr)
		m.kickDetector()
	}
}

// kickDetector makes the detector commit what a heartbeat changed in the
// working state.
func (m *Master) kickDetector() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Master) admin(req *wire.AdminRequest) *wire.AdminResponse {
	var cfg chain.Config
	var err error
	switch req.Op {
	case wire.AdminAddNode:
		cfg, err = m.AddNodeTo(req.Chain, req.Member)
	case wire.AdminRemoveNode:
		cfg, err = m.RemoveNodeFrom(req.Chain, req.Member.ID)
	case wire.AdminAddMaster:
		err = m.AddMaster(Peer{Addr: req.Member.ID, RaftAddr: req.Member.Addr})
		cfg = m.Config()
	case wire.AdminRemoveMaster:
		err = m.RemoveMaster(req.Member.ID)
		cfg = m.Config()
	default:
		cfg, err = m.Config(), refused(chain.ErrInvalidArgument, fmt.Sprintf("unknown admin operation %d", req.Op))
	}
	resp := &wire.AdminResponse{ID: req.ID, Config: cfg}
	switch r := (*refusal)(nil); {
	case err == nil:
	case errors.Is(err, ErrNotLeader):
		// Busy: try again, at the leader when it is known.
		resp.Err = &chain.RemoteError{Code: wire.CodeBusy, Message: ErrNotLeader.Error(), Redirect: m.Leader(), Epoch: cfg.Epoch}
	case errors.As(err, &r):
		resp.Err = &chain.RemoteError{Code: wire.CodeInvalidArgument, Message: r.detail}
	case errors.Is(err, chain.ErrInvalidArgument):
		resp.Err = &chain.RemoteError{Code: wire.CodeInvalidArgument, Message: err.Error()}
	default:
		resp.Err = &chain.RemoteError{Code: wire.CodeBusy, Message: err.Error()}
	}
	return resp
}

// serveAdmin answers an admin request on a goroutine of its own, since a
// change waits for its raft commit and heartbeats must not wait behind it.
// One request runs at a time; another arriving meanwhile is refused as
// busy (the caller retries).
func (m *Master) serveAdmin(from string, req *wire.AdminRequest) {
	select {
	case m.adminSlot <- struct{}{}:
	default:
		m.send(from, &wire.AdminResponse{ID: req.ID, Config: m.Config(),
			Err: &chain.RemoteError{Code: wire.CodeBusy, Message: "another admin request is in progress"}})
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		resp := m.admin(req)
		<-m.adminSlot // free before answering, so the caller's next request finds it free
		m.send(from, resp)
	}()
}
