package master

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
)

// raftTimeout is raft's heartbeat and election timeout for a failure
// timeout: a quarter of it (between 20ms and 1s), so a new leader is
// elected well within a failure timeout, and a deposed leader (its lease
// is half of this) stops vouching for nodes before the new one could
// count their silence.
func raftTimeout(failure time.Duration) time.Duration {
	return min(max(failure/4, 20*time.Millisecond), time.Second)
}

// startRaft opens the raft stores and transport and starts raft,
// bootstrapping a new group unless opts.Join.
func (m *Master) startRaft() error {
	o := m.opts
	logOut := io.Discard
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(o.Addr)
	rc.HeartbeatTimeout = raftTimeout(o.FailureTimeout)
	rc.ElectionTimeout = rc.HeartbeatTimeout
	rc.LeaderLeaseTimeout = rc.HeartbeatTimeout / 2
	rc.CommitTimeout = max(rc.HeartbeatTimeout/10, time.Millisecond)
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Output: logOut, Level: hclog.Off})
	// A removed master stays up as a follower until closed: raft shutting
	// itself down would leave an Apply in flight unanswered (see Close).
	rc.ShutdownOnRemove = false
	rc.SnapshotThreshold = 1024
	rc.TrailingLogs = 1024

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	st := o.RaftStorage
	if st == nil && o.Dir == "" {
		st = NewInmemRaftStorage()
	}
	if st != nil {
		logs, stable, snaps = st.Logs, st.Stable, st.Snapshots
	} else {
		s, err := openPebbleStore(filepath.Join(o.Dir, "raft"))
		if err != nil {
			return err
		}
		m.closers = append(m.closers, s.Close)
		fs, err := raft.NewFileSnapshotStore(o.Dir, 2, logOut)
		if err != nil {
			m.closeAll()
			return fmt.Errorf("raft snapshots: %w", err)
		}
		logs, stable, snaps = s, s, fs
	}

	trans := o.RaftTransport
	var rt *raftTLS // set with RaftTLS: it checks RPCs against the configuration of the raft made below
	switch {
	case trans != nil && o.RaftTLS != nil:
		m.closeAll()
		return fmt.Errorf("raft transport: %w: %w", chain.ErrInvalidConfig, errNoRaftTLS)
	case trans != nil:
	case o.RaftAddr != "":
		if o.RaftTLS != nil {
			var err error
			if rt, err = newRaftTLS(o.RaftTLS, o.RaftClientTLS, o.RaftVerifyPeer, m.log); err != nil {
				m.closeAll()
				return fmt.Errorf("raft transport: %w", err)
			}
		}
		stream, err := listenTCP(o.RaftAddr, rt)
		if err != nil {
			m.closeAll()
			return fmt.Errorf("raft transport: %w", err)
		}
		// The transport's Close closes the stream, and so its connections.
		trans = raft.NewNetworkTransport(stream, 3, 10*time.Second, logOut)
	default:
		_, trans = raft.NewInmemTransport("")
	}
	// The leader learns its peers' progress from the answers to its RPCs
	// (see AddMaster).
	trans, m.progress = withProgress(trans)
	if c, ok := trans.(io.Closer); ok {
		m.closers = append([]func() error{c.Close}, m.closers...)
	}
	m.raftAddr = trans.LocalAddr()
	if err := checkOwnRaftAddr(o.Peers, o.Addr, m.raftAddr); err != nil {
		m.closeAll()
		return err
	}

	if !o.Join {
		exists, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			m.closeAll()
			return fmt.Errorf("raft state: %w", err)
		}
		if !exists {
			var servers []raft.Server
			for _, p := range o.Peers {
				servers = append(servers, raft.Server{ID: raft.ServerID(p.Addr), Address: raft.ServerAddress(p.RaftAddr)})
			}
			if len(servers) == 0 {
				servers = []raft.Server{{ID: rc.LocalID, Address: m.raftAddr}}
			}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
				m.closeAll()
				return fmt.Errorf("raft bootstrap: %w", err)
			}
		}
	}
	r, err := raft.NewRaft(rc, m.fsm, logs, stable, snaps, trans)
	if err != nil {
		m.closeAll()
		return fmt.Errorf("raft: %w", err)
	}
	m.raft = r
	if rt != nil {
		rt.raft.Store(r)
	}
	return nil
}

// RaftStorage is where a master keeps its raft state (see
// Options.RaftStorage). The master does not close it.
type RaftStorage struct {
	Logs      raft.LogStore
	Stable    raft.StableStore
	Snapshots raft.SnapshotStore
}

// NewInmemRaftStorage returns an empty RaftStorage in memory.
func NewInmemRaftStorage() *RaftStorage {
	s := raft.NewInmemStore()
	return &RaftStorage{Logs: s, Stable: s, Snapshots: raft.NewInmemSnapshotStore()}
}

// stopRaft shuts raft down, waiting for its goroutines, and closes its
// transport and stores. It may be called more than once.
func (m *Master) stopRaft() error {
	var err error
	if m.raft != nil {
		err = m.raft.Shutdown().Error()
	}
	return errors.Join(err, m.closeAll())
}

func (m *Master) closeAll() error {
	var err error
	for _, c := range m.closers {
		err = errors.Join(err, c())
	}
	m.closers = nil
	return err
}

// lone reports whether this master is the only voter of its group.
func (m *Master) lone() bool {
	ps, err := m.Masters()
	return err == nil && len(ps) == 1 && ps[0].Addr == m.opts.Addr
}

// awaitLead waits until this master leads and has loaded the state, for
// at most 20 election timeouts.
func (m *Master) awaitLead() error {
	limit := 20 * raftTimeout(m.opts.FailureTimeout)
	step := raftTimeout(m.opts.FailureTimeout) / 10
	for range int(limit / step) {
		m.followLeadership()
		m.mu.Lock()
		leading := m.leading
		m.mu.Unlock()
		if leading {
			return nil
		}
		time.Sleep(step)
	}
	return fmt.Errorf("%w: no leadership after %v", ErrNotLeader, limit)
}

// Leader returns the chain-transport address of the master group's
// leader as this master knows it, or "" when it knows none.
func (m *Master) Leader() string {
	_, id := m.raft.LeaderWithID()
	return string(id)
}

// IsLeader reports whether this master leads its group and runs the
// failure detector.
func (m *Master) IsLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leading
}

// raftErr wraps raft's not-leader errors in ErrNotLeader.
func raftErr(err error) error {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
		return fmt.Errorf("%w (%v)", ErrNotLeader, err)
	}
	return err
}

// commit proposes next, decided on the state at version base, and waits
// until it is applied; it returns the version after it. adopt lets an
// epoch rise by more than one (see state.adopt).
func (m *Master) commit(base uint64, next durable, adopt bool) (uint64, error) {
	b, err := json.Marshal(command{Base: base, State: next, Adopt: adopt})
	if err != nil {
		return 0, err
	}
	f := m.raft.Apply(b, m.opts.FailureTimeout)
	if err := f.Error(); err != nil {
		return 0, raftErr(err)
	}
	res, _ := f.Response().(applied)
	return res.ver, res.err
}
