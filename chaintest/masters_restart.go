package chaintest

import (
	"fmt"

	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/inmem"
)

// restart starts master i again after kill. With keepState it keeps the
// raft state it had (as a master with Options.Dir does across processes);
// without, it starts from nothing, as a master without Dir does: a lone
// master then starts again from its initial configuration.
func (g *masterGroup) restart(i int, keepState bool) error {
	g.mu.Lock()
	running := g.masters[i] != nil
	if !keepState {
		g.opts[i].RaftStorage = master.NewInmemRaftStorage()
	}
	o := g.opts[i]
	g.mu.Unlock()
	if running {
		return fmt.Errorf("restart master %d: it is running", i)
	}
	m, err := master.Start(o)
	if err != nil {
		return fmt.Errorf("restart master %d: %w", i, err)
	}
	g.mu.Lock()
	g.masters[i] = m
	g.mu.Unlock()
	g.connectRaft(i)
	return nil
}

// RestartMaster starts master i again after KillMaster, at its address.
// With keepState it comes back with the raft state it had, as a master
// with Options.Dir does; without, it starts from nothing, as a master
// without Dir does (a lone master then starts again from the initial
// configuration, behind the chain). Safe for concurrent use.
func (c *Cluster) RestartMaster(i int, keepState bool) error {
	if c.group == nil {
		return fmt.Errorf("chaintest: restart master: the cluster has no master")
	}
	return c.group.restart(i, keepState)
}

// PartitionMaster cuts master i off: from the nodes and clients (its
// address is isolated on the network) and from the other masters (its
// raft transport is disconnected), until HealMaster. Safe for concurrent
// use.
func (c *Cluster) PartitionMaster(i int) { c.group.partition(c.net, i) }

// HealMaster undoes PartitionMaster. Safe for concurrent use.
func (c *Cluster) HealMaster(i int) { c.group.heal(c.net, i) }

// partition cuts master i off net and off the other masters' raft.
func (g *masterGroup) partition(net *inmem.Network, i int) {
	net.Isolate(g.addrs[i])
	g.disconnectRaft(i)
}

// heal undoes partition.
func (g *masterGroup) heal(net *inmem.Network, i int) {
	g.connectRaft(i)
	net.Reconnect(g.addrs[i])
}
