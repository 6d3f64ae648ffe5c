package master

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
)

// servers returns the servers of the group's raft configuration, voters
// and non-voters, as this master knows them.
func (m *Master) servers() ([]raft.Server, error) {
	f := m.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("masters: %w", err)
	}
	return f.Configuration().Servers, nil
}

// Masters returns the voting masters of the group as this master knows
// them. A master that AddMaster is still catching up (a raft non-voter)
// is not among them.
func (m *Master) Masters() ([]Peer, error) {
	servers, err := m.servers()
	if err != nil {
		return nil, err
	}
	var ps []Peer
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			ps = append(ps, Peer{Addr: string(s.ID), RaftAddr: string(s.Address)})
		}
	}
	return ps, nil
}

// checkRaftAddr is the check of a new master's raft address: host:port
// when this master's raft runs on the TCP transport it built for
// Options.RaftAddr, none with a transport given in Options.RaftTransport.
func (m *Master) checkRaftAddr() func(string) error {
	if m.opts.RaftTransport != nil {
		return nil
	}
	return func(a string) error {
		if strings.Contains(a, "/") {
			return fmt.Errorf("raft address %q is not host:port", a)
		}
		return CheckTCPAddr(a)
	}
}

// requireLeader refuses a change of the group on a master that does not
// lead it, so that the change is checked on the leader's configuration.
func (m *Master) requireLeader() error {
	if m.raft.State() != raft.Leader {
		return fmt.Errorf("%w (leader: %q)", ErrNotLeader, m.Leader())
	}
	return nil
}

// reachable reports whether the master id answered this master's raft
// RPCs within the last two raft timeouts (a follower answers a
// heartbeat every tenth of one); this master counts as reachable.
func (m *Master) reachable(servers []raft.Server) func(raft.ServerID) bool {
	window := 2 * raftTimeout(m.opts.FailureTimeout)
	now := time.Now()
	return func(id raft.ServerID) bool {
		if string(id) == m.opts.Addr {
			return true
		}
		for _, s := range servers {
			if s.ID == id {
				c := m.progress.progress(s.Address).contact
				return !c.IsZero() && now.Sub(c) < window
			}
		}
		return false
	}
}

// AddMaster adds p to the group; p must be running, started with Join.
// Only the leader can (ErrNotLeader). Its addresses are checked first
// (Options.CheckAddr; host:port for the raft address on the TCP
// transport), and p must not be in the group at another raft address.
//
// p joins as a raft non-voter, so that a master that is not there, or
// cannot keep up, never counts towards the group's quorum: it is promoted
// to a voter once it answers the leader and its log matches the leader's
// within a few entries, and removed again, with a refusal saying why,
// when it does not answer for 8 raft timeouts or has not caught up within
// 16 (see catchUpFor). AddMaster returns once the promotion is committed;
// a master that has not received it yet refuses p's votes (raft ignores
// candidates outside its configuration), so a group of three that loses
// its leader right then may elect no one until the leader is back: let
// Masters on every master show p before the next change of the group.
// Adding a voter again changes nothing.
func (m *Master) AddMaster(p Peer) error {
	if err := m.addMaster(p); err != nil {
		return fmt.Errorf("add master %s: %w", p.Addr, err)
	}
	return nil
}

func (m *Master) addMaster(p Peer) error {
	if p.Addr == "" || p.RaftAddr == "" {
		return refused(chain.ErrInvalidArgument, "a master needs an address and a raft address")
	}
	if err := m.requireLeader(); err != nil {
		return err
	}
	servers, err := m.servers()
	if err != nil {
		return err
	}
	voter, err := checkAddMaster(servers, p, m.opts.CheckAddr, m.checkRaftAddr())
	if err != nil || voter {
		return err
	}
	id, addr := raft.ServerID(p.Addr), raft.ServerAddress(p.RaftAddr)
	timeout := 10 * raftTimeout(m.opts.FailureTimeout)
	m.progress.forget(addr)
	since := time.Now()
	if err := m.raft.AddNonvoter(id, addr, 0, timeout).Error(); err != nil {
		return raftErr(err)
	}
	m.log.Info("master added as a non-voter: it becomes a voter once it has caught up", "id", p.Addr, "raft", p.RaftAddr)
	b := catchUpFor(m.opts.FailureTimeout)
	tick := time.NewTicker(raftTimeout(m.opts.FailureTimeout) / 10)
	defer tick.Stop()
	for {
		if err := m.requireLeader(); err != nil {
			return fmt.Errorf("%w; %s stays a non-voter until the leader adds it again", err, p.Addr)
		}
		pr := m.progress.progress(addr)
		switch verdict, why := decidePromotion(pr, m.raft.LastIndex(), since, time.Now(), b); verdict {
		case promoteVoter:
			return m.promote(p, timeout)
		case promoteGiveUp:
			return m.giveUp(p, why, timeout)
		}
		select {
		case <-m.ctx.Done():
			return fmt.Errorf("%w: master closing while %s caught up", chain.ErrClosed, p.Addr)
		case <-tick.C:
		}
	}
}

// promote makes the caught-up non-voter p a voter, unless that would
// leave the group without a reachable quorum.
func (m *Master) promote(p Peer, timeout time.Duration) error {
	servers, err := m.servers()
	if err != nil {
		return err
	}
	if err := checkQuorum("adding "+p.Addr, withVoter(servers, p), m.reachable(servers)); err != nil {
		return errors.Join(err, m.removeServer(p.Addr, timeout))
	}
	if err := m.raft.AddVoter(raft.ServerID(p.Addr), raft.ServerAddress(p.RaftAddr), 0, timeout).Error(); err != nil {
		return raftErr(err)
	}
	m.log.Info("master caught up: now a voter", "id", p.Addr, "raft", p.RaftAddr)
	return nil
}

// giveUp removes the non-voter p, which did not catch up (why), and
// returns the refusal saying so.
func (m *Master) giveUp(p Peer, why string, timeout time.Duration) error {
	m.log.Warn("master not added: removed again", "id", p.Addr, "raft", p.RaftAddr, "reason", why)
	r := refused(chain.ErrInvalidConfig, fmt.Sprintf("%s was not added, %s; removed again", p.Addr, why))
	return errors.Join(r, m.removeServer(p.Addr, timeout))
}

func (m *Master) removeServer(addr string, timeout time.Duration) error {
	if err := m.raft.RemoveServer(raft.ServerID(addr), 0, timeout).Error(); err != nil {
		return fmt.Errorf("remove %s: %w", addr, raftErr(err))
	}
	return nil
}

// RemoveMaster removes the master at addr from the group; a leader that
// removes itself steps down. Only the leader can (ErrNotLeader). It
// refuses a master not in the group, the group's last master, and a
// removal after which the voters reachable now would be short of a
// quorum (checkQuorum): removing a live master of three while another is
// down would leave a group that can elect no leader.
func (m *Master) RemoveMaster(addr string) error {
	if err := m.removeMaster(addr); err != nil {
		return fmt.Errorf("remove master %s: %w", addr, err)
	}
	return nil
}

func (m *Master) removeMaster(addr string) error {
	if err := m.requireLeader(); err != nil {
		return err
	}
	servers, err := m.servers()
	if err != nil {
		return err
	}
	if err := checkRemoveMaster(servers, addr); err != nil {
		return err
	}
	if err := checkQuorum("removing "+addr, withoutServer(servers, addr), m.reachable(servers)); err != nil {
		return err
	}
	if err := m.raft.RemoveServer(raft.ServerID(addr), 0, 10*raftTimeout(m.opts.FailureTimeout)).Error(); err != nil {
		return raftErr(err)
	}
	m.log.Info("master removed from the group", "id", addr)
	return nil
}
