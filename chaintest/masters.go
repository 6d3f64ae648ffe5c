package chaintest

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/inmem"
)

// MasterAddr is the address of the cluster's master (Options.Master), the
// first of a group's.
const MasterAddr = "master"

// masterGroup is a lone master or a group of masters on raft's in-memory
// transports, at addresses "master", "master2", ...
type masterGroup struct {
	addrs []string
	rafts []*raft.InmemTransport // a group only
	opts  []master.Options       // each master's, to restart it

	mu      sync.Mutex
	masters []*master.Master // by index; nil once killed
}

// startMasterGroup starts n masters on net, each with the options
// configure returns (Transport, Addr, Peers and RaftTransport set here),
// and waits until a group has elected a leader.
func startMasterGroup(net *inmem.Network, n int, configure func() master.Options) (*masterGroup, error) {
	g := &masterGroup{}
	var peers []master.Peer
	for i := range n {
		addr := MasterAddr
		if i > 0 {
			addr += strconv.Itoa(i + 1)
		}
		g.addrs = append(g.addrs, addr)
		if n > 1 {
			raddr, tr := raft.NewInmemTransport(raft.ServerAddress("raft-" + addr))
			g.rafts = append(g.rafts, tr)
			peers = append(peers, master.Peer{Addr: addr, RaftAddr: string(raddr)})
		}
	}
	for i, a := range g.rafts {
		for j, b := range g.rafts {
			if i != j {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
	g.masters = make([]*master.Master, n)
	for i, addr := range g.addrs {
		o := configure()
		o.Transport, o.Addr, o.Peers = net, addr, peers
		o.RaftStorage = master.NewInmemRaftStorage()
		if n > 1 {
			o.RaftTransport = g.rafts[i]
		}
		g.opts = append(g.opts, o)
		m, err := master.Start(o)
		if err != nil {
			return g, err
		}
		g.masters[i] = m
	}
	if n > 1 {
		deadline := time.Now().Add(10 * time.Second)
		for g.leader() < 0 {
			if time.Now().After(deadline) {
				return g, errors.New("start masters: no leader elected")
			}
			time.Sleep(time.Millisecond)
		}
	}
	return g, nil
}

// running returns the masters by index, nil for the killed.
func (g *masterGroup) running() []*master.Master {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*master.Master(nil), g.masters...)
}

// leader returns the index of the master that leads its group, or -1
// when none does (or more than one thinks it does, during a change of
// leader).
func (g *masterGroup) leader() int {
	leader := -1
	for i, m := range g.running() {
		if m != nil && m.IsLeader() {
			if leader >= 0 {
				return -1
			}
			leader = i
		}
	}
	return leader
}

// current returns the master that leads, or else the first one running;
// nil when every master is killed.
func (g *masterGroup) current() *master.Master {
	l := g.leader()
	masters := g.running()
	if l >= 0 && masters[l] != nil {
		return masters[l]
	}
	for _, m := range masters {
		if m != nil {
			return m
		}
	}
	return nil
}

// kill closes master i, as a process exit would (its state was in
// memory), and cuts its raft transport off the others'.
func (g *masterGroup) kill(t testing.TB, i int) {
	if !closeSlot(t, &g.mu, g.masters, i, "master") {
		return
	}
	for j, tr := range g.rafts {
		if j != i {
			tr.Disconnect(g.rafts[i].LocalAddr())
		}
	}
}

// disconnectRaft cuts master i's raft transport off the others', both
// ways.
func (g *masterGroup) disconnectRaft(i int) {
	for j, tr := range g.rafts {
		if j != i {
			tr.Disconnect(g.rafts[i].LocalAddr())
			g.rafts[i].Disconnect(tr.LocalAddr())
		}
	}
}

// connectRaft reconnects master i's raft transport to the running
// masters'.
func (g *masterGroup) connectRaft(i int) {
	masters := g.running()
	if masters[i] == nil {
		return
	}
	for j, tr := range g.rafts {
		if j != i && masters[j] != nil {
			tr.Connect(g.rafts[i].LocalAddr(), g.rafts[i])
			g.rafts[i].Connect(tr.LocalAddr(), tr)
		}
	}
}

// close closes every running master.
func (g *masterGroup) close(t testing.TB) {
	for i := range g.running() {
		g.kill(t, i)
	}
}
