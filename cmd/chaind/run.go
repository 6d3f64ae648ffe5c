package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/transport/tcp"
)

// run starts the master or the nodes the flags ask for and serves until
// ctx ends.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	f, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	defer func() { err = explain(err, f.data) }()
	logger, err := newLogger(f.logLevel, os.Stderr)
	if err != nil {
		return err
	}
	tlsCtx, stopTLS := context.WithCancel(ctx)
	defer stopTLS()
	tlsFiles, err := startTLS(tlsCtx, f, tlsReloadInterval, logger)
	if err != nil {
		return err
	}
	exposed, err := requireTLS(listenAddrs(f), tlsFiles != nil, f.insecure)
	if err != nil {
		return err
	}
	if len(exposed) > 0 {
		logger.Warn("-insecure: listening without TLS on a non-loopback address: peers are not authenticated, "+
			"and anyone who can reach it can reconfigure the chain", "addrs", exposed)
	}
	ms, err := startMetrics(f.metrics, logger, out)
	if err != nil {
		return err
	}
	defer ms.Close()
	if f.server != "" || (f.chains > 0 && !f.master.run) {
		tr := tcp.New(tcp.Options{TLS: tlsFiles.server(), ClientTLS: tlsFiles.client(), Logger: logger})
		defer tr.Close()
		ms.add(nil, tr.Collector())
		if f.server != "" {
			return runServer(ctx, f, tr, logger, out, ms)
		}
		return runLocalCluster(ctx, f, tr, logger, out, ms)
	}
	cfg, ids, err := chainConfig(f)
	if err != nil {
		return err
	}

	tr := tcp.New(tcp.Options{TLS: tlsFiles.server(), ClientTLS: tlsFiles.client(), Logger: logger})
	defer tr.Close()
	ms.add(nil, tr.Collector())
	if f.master.run {
		return runMaster(ctx, f, cfg, tr, tlsFiles, logger, out, ms)
	}
	var nodes []*launch.Node
	masterAddr := f.master.addr
	if f.id == "" { // a local chain runs its own master
		masterAddr = f.listen
		if masterAddr == "" {
			masterAddr = "127.0.0.1:" + strconv.Itoa(f.port-1)
		}
		lc, err := launch.StartChain(ctx, launch.ChainConfig{
			Config: cfg, Transport: tr, MasterAddr: masterAddr, FailureTimeout: f.failureTimeout,
			DataDir: f.data, NoSync: f.noSync, Logger: logger,
		})
		if err != nil {
			return err
		}
		defer func() {
			if err := lc.Close(); err != nil {
				logger.Error("close local chain", "err", err)
			}
		}()
		fmt.Fprintf(out, "master listening on %s (failure timeout %v)\n", masterAddr, f.failureTimeout)
		nodes = lc.Nodes
		ms.add(nil, lc.Master.Collector(), lc.Client.Collector())
	} else {
		n, err := launch.StartNode(ctx, launch.NodeConfig{
			ID: f.id, Config: cfg, Masters: flagvalue.SplitAddrs(masterAddr), Addr: f.addr, Transport: tr,
			DataDir: f.data, NoSync: f.noSync, Logger: logger,
		})
		if err != nil {
			return fmt.Errorf("start node %s: %w", f.id, err)
		}
		defer func() {
			if err := n.Close(); err != nil {
				logger.Error("close node", "node", n.ID(), "err", err)
			}
		}()
		nodes = []*launch.Node{n}
	}
	ms.addNodes(nodes...)
	printReady(out, cfg, ids, masterAddr, f)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "shutting down")
		return nil
	case err := <-failed(ctx, nodes):
		return err
	}
}

// chainConfig returns the chain's (initial) configuration and the ids of
// the nodes to run here.
func chainConfig(f flags) (chain.Config, []string, error) {
	if f.id == "" && !f.master.run { // a local chain
		cfg := chain.Config{Epoch: f.epoch, Members: launch.LocalMembers(f.nodes, f.port)}
		ids := make([]string, 0, len(cfg.Members))
		for _, m := range cfg.Members {
			ids = append(ids, m.ID)
		}
		return cfg, ids, cfg.Validate()
	}
	cfg := chain.Config{Epoch: f.epoch}
	if f.members != "" {
		members, err := flagvalue.ParseMembers(f.members)
		if err != nil {
			return cfg, nil, err
		}
		cfg.Members = members
		if err := cfg.Validate(); err != nil {
			return cfg, nil, err
		}
	}
	if f.master.run {
		return cfg, nil, nil
	}
	if f.master.addr != "" && len(flagvalue.SplitAddrs(f.master.addr)) == 0 {
		return cfg, nil, errors.New("-master: no address")
	}
	role := cfg.Role(f.id)
	switch {
	case role == chain.RoleNone && f.master.addr == "":
		return cfg, nil, fmt.Errorf("node %q is not in -members", f.id)
	case role == chain.RoleNone && f.addr == "":
		return cfg, nil, fmt.Errorf("node %q is not in -members: give the address it listens on with -addr", f.id)
	case role != chain.RoleNone && f.addr != "":
		return cfg, nil, fmt.Errorf("node %q is in -members: its address is there, not in -addr", f.id)
	}
	return cfg, []string{f.id}, nil
}

// runMaster runs the configuration master, alone or in a group, until ctx
// ends. tlsFiles (nil without -tls-*) also secure raft between masters.
func runMaster(ctx context.Context, f flags, cfg chain.Config, tr chain.Transport, tlsFiles *chaindTLS, logger *slog.Logger, out io.Writer, ms *metricsServer) error {
	mc := master.Options{
		Addr: f.listen, Config: cfg, Transport: tr, FailureTimeout: f.failureTimeout, Logger: logger,
		RaftAddr: f.raft, Join: f.join, Dir: f.data,
		// Raft between masters runs over the same mutual TLS as the rest,
		// with masters' certificates only, and admin changes must name TCP
		// addresses.
		RaftTLS: tlsFiles.server(), RaftClientTLS: tlsFiles.client(), RaftVerifyPeer: master.RequireMasterRole, CheckAddr: master.CheckTCPAddr,
	}
	if f.chains > 0 {
		mc.Chains, mc.Replicas = f.chains, f.replicas
	}
	if f.peers != "" {
		peers, err := flagvalue.ParsePeers(f.peers)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(peers, func(p master.Peer) bool { return p.Addr == f.listen })
		switch {
		case i < 0:
			return fmt.Errorf("-peers does not list this master (-listen %s)", f.listen)
		case mc.RaftAddr == "":
			mc.RaftAddr = peers[i].RaftAddr
		case mc.RaftAddr != peers[i].RaftAddr:
			return fmt.Errorf("-raft %s is not this master's raft address in -peers (%s)", mc.RaftAddr, peers[i].RaftAddr)
		}
		mc.Peers = peers
	}
	m, err := master.Start(mc)
	if err != nil {
		return err // master.Start's errors say "start master"
	}
	ms.add(nil, m.Collector())
	masters := f.listen
	var addrs []string
	for _, p := range mc.Peers {
		addrs = append(addrs, p.Addr)
	}
	if len(addrs) > 1 {
		masters = strings.Join(addrs, ",")
	}
	what := fmt.Sprintf("chain at epoch %d: %s", cfg.Epoch, flagvalue.FormatMembers(cfg.Members))
	if f.chains > 0 {
		what = describePlan(f.chains, f.replicas)
	}
	switch {
	case f.join:
		fmt.Fprintf(out, "master listening on %s (failure timeout %v), raft on %s, waiting to be added to a group\n",
			m.Addr(), f.failureTimeout, mc.RaftAddr)
	case len(mc.Peers) > 1:
		fmt.Fprintf(out, "master listening on %s (failure timeout %v), raft on %s, one of the group %s; %s\n",
			m.Addr(), f.failureTimeout, mc.RaftAddr, masters, what)
	default:
		fmt.Fprintf(out, "master listening on %s (failure timeout %v), %s\n", m.Addr(), f.failureTimeout, what)
	}
	switch {
	case f.chains > 0:
		fmt.Fprintf(out, "start each server (at least %d) with:\n  chaind -server ID -listen HOST:PORT -master %s\n", f.replicas, masters)
		fmt.Fprintf(out, "reach the cluster with:\n  chainctl -master %s status\n  chainctl -master %s put KEY VALUE\n", masters, masters)
	case !f.join:
		fmt.Fprintf(out, "start each node with:\n  chaind -id ID -members %s -master %s\n", flagvalue.FormatMembers(cfg.Members), masters)
		fallthrough
	default:
		fmt.Fprintf(out, "reach the chain with:\n  chainctl -master %s status\n", masters)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	if err := m.Close(); err != nil {
		return err
	}
	return nil
}

// failed reports the first node that stops serving on its own (fail-stop).
func failed(ctx context.Context, nodes []*launch.Node) <-chan error {
	ch := make(chan error, 1)
	for _, n := range nodes {
		go func() {
			if err := n.WaitApplied(ctx, ^uint64(0)); errors.Is(err, chain.ErrClosed) {
				select {
				case ch <- fmt.Errorf("node %s stopped: %w", n.ID(), n.Err()):
				default:
				}
			}
		}()
	}
	return ch
}

func printReady(out io.Writer, cfg chain.Config, ids []string, masterAddr string, f flags) {
	where := "in memory"
	if f.data != "" {
		where = "on Pebble under " + f.data
	}
	if masterAddr != "" && f.id != "" {
		where += ", following the master at " + masterAddr
	}
	for _, m := range cfg.Members {
		if slices.Contains(ids, m.ID) {
			fmt.Fprintf(out, "node %s (%s) listening on %s, %s\n", m.ID, cfg.Role(m.ID), m.Addr, where)
		}
	}
	if f.id != "" && cfg.Role(f.id) == chain.RoleNone {
		fmt.Fprintf(out, "node %s (not yet a member) listening on %s, %s\n", f.id, f.addr, where)
		fmt.Fprintf(out, "add it to the chain with:\n  chainctl -master %s add-node %s %s\n", masterAddr, f.id, f.addr)
	}
	if masterAddr != "" {
		fmt.Fprintf(out, "reach the chain with:\n  chainctl -master %s status\n", masterAddr)
		return
	}
	fmt.Fprintf(out, "reach the chain with:\n  chainctl -members %s status\n", flagvalue.FormatMembers(cfg.Members))
}

// describePlan tells the shape of a partitioned cluster.
func describePlan(chains, replicas int) string {
	return fmt.Sprintf("%d chains of %d replicas, created once %d servers report", chains, replicas, replicas)
}

// runServer runs one server of a partitioned cluster until ctx ends.
func runServer(ctx context.Context, f flags, tr chain.Transport, logger *slog.Logger, out io.Writer, ms *metricsServer) error {
	masters := flagvalue.SplitAddrs(f.master.addr)
	if len(masters) == 0 {
		return errors.New("-master: no address")
	}
	s, err := launch.StartServer(launch.ServerConfig{
		ID: f.server, Addr: f.listen, Masters: masters, Transport: tr,
		DataDir: f.data, NoSync: f.noSync, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	ms.addServers(s)
	list := strings.Join(masters, ",")
	fmt.Fprintf(out, "server %s listening on %s, %s, following the master at %s\n", f.server, f.listen, where(f.data), list)
	fmt.Fprintf(out, "reach the cluster with:\n  chainctl -master %s status\n", list)
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	return s.Close()
}

// runLocalCluster runs a partitioned cluster in one process: a master
// and -servers servers on loopback TCP, until ctx ends.
func runLocalCluster(ctx context.Context, f flags, tr chain.Transport, logger *slog.Logger, out io.Writer, ms *metricsServer) error {
	masterAddr := f.listen
	if masterAddr == "" {
		masterAddr = "127.0.0.1:" + strconv.Itoa(f.port-1)
	}
	replicas := min(3, f.servers)
	if f.set["replicas"] {
		replicas = f.replicas
	}
	pc := launch.PartitionedConfig{
		MasterAddr: masterAddr, Chains: f.chains, Replicas: replicas, Transport: tr, FailureTimeout: f.failureTimeout,
		DataDir: f.data, NoSync: f.noSync, Logger: logger,
	}
	for i := range f.servers {
		pc.ServerAddrs = append(pc.ServerAddrs, "127.0.0.1:"+strconv.Itoa(f.port+i))
	}
	if f.data != "" {
		pc.MasterDir = filepath.Join(f.data, "master")
	}
	p, err := launch.StartPartitioned(pc)
	if err != nil {
		return err
	}
	defer func() {
		if err := p.Close(); err != nil {
			logger.Error("close local cluster", "err", err)
		}
	}()
	ms.add(nil, p.Master.Collector())
	ms.addServers(p.Servers...)
	fmt.Fprintf(out, "master listening on %s (failure timeout %v), %s\n", masterAddr, f.failureTimeout, describePlan(f.chains, replicas))
	for i, s := range p.Servers {
		dir := ""
		if f.data != "" {
			dir = filepath.Join(f.data, s.ID())
		}
		fmt.Fprintf(out, "server %s listening on %s, %s\n", s.ID(), pc.ServerAddrs[i], where(dir))
	}
	if err := p.WaitPlaced(ctx); err != nil { // ctx ended first
		fmt.Fprintln(out, "shutting down")
		return nil
	}
	fmt.Fprintf(out, "%d chains created\n", f.chains)
	fmt.Fprintf(out, "reach the cluster with:\n  chainctl -master %s status\n  chainctl -master %s put KEY VALUE\n", masterAddr, masterAddr)
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	return nil
}

// where tells where replicas keep their logs.
func where(dir string) string {
	if dir != "" {
		return "on Pebble under " + dir
	}
	return "in memory"
}
