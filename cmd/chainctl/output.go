package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/wire"
)

// print writes v as JSON with -json, text otherwise.
func (s *call) print(v any, text string) error {
	if s.json {
		return json.NewEncoder(s.out).Encode(v)
	}
	_, err := fmt.Fprintln(s.out, text)
	return err
}

type jsonEntry struct {
	Offset  uint64 `json:"offset"`
	Epoch   uint64 `json:"epoch"`
	Client  string `json:"client,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	Command string `json:"command,omitempty"`
	Data    string `json:"data"`
}

func (s *call) printEntries(ents []chain.Entry) error {
	if s.json {
		out := make([]jsonEntry, len(ents))
		for i, e := range ents {
			out[i] = jsonEntry{e.Offset, e.Epoch, e.Client, e.Seq, e.Command, string(e.Data)}
		}
		return json.NewEncoder(s.out).Encode(out)
	}
	for _, e := range ents {
		cmd := ""
		if e.Command != "" {
			cmd = " " + e.Command
		}
		if _, err := fmt.Fprintf(s.out, "%d%s %q\n", e.Offset, cmd, e.Data); err != nil {
			return err
		}
	}
	return nil
}

// nodeStatus is one row of the status table.
type nodeStatus struct {
	ID      string `json:"id"`
	Addr    string `json:"addr"`
	Role    string `json:"role"`
	Epoch   uint64 `json:"epoch"`
	Last    uint64 `json:"last_offset"`
	Commit  uint64 `json:"commit_point"`
	Applied uint64 `json:"applied"`
	// Lag is how many entries the node is behind the head.
	Lag      uint64 `json:"lag"`
	Inflight int64  `json:"inflight_bytes"`
	// Err is why the node stopped serving, as it reports.
	Err string `json:"error,omitempty"`
	// Problem is why the node cannot serve: unreachable, fenced, stopped
	// or catching up, with the cause; empty when it serves.
	Problem string `json:"problem,omitempty"`
	// Serving is set when the node takes its part in the chain (it may
	// still have a Problem: busy).
	Serving bool `json:"serving"`
	// Links is the health of its replication links (see links.go).
	Links *linkStatus `json:"links,omitempty"`
}

// masterView is the master's configuration as status and the admin
// commands print it.
type masterView struct {
	Addr string `json:"addr"`
	configView
}

// configView is a chain's configuration as chainctl prints it: its epoch
// and its members in chain order, each with its role.
type configView struct {
	Epoch   uint64       `json:"epoch"`
	Members []memberView `json:"members"`
	Joining *memberView  `json:"joining,omitempty"`
}

type memberView struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	Role string `json:"role"`
}

func newMasterView(addr string, cfg chain.Config) masterView {
	return masterView{Addr: addr, configView: newConfigView(cfg)}
}

func newConfigView(cfg chain.Config) configView {
	v := configView{Epoch: cfg.Epoch, Members: make([]memberView, len(cfg.Members))}
	for i, m := range cfg.Members {
		v.Members[i] = memberView{ID: m.ID, Addr: m.Addr, Role: cfg.Role(m.ID).String()}
	}
	if j := cfg.Joining; j != nil {
		v.Joining = &memberView{ID: j.ID, Addr: j.Addr, Role: chain.RoleJoining.String()}
	}
	return v
}

// writeText prints the view: a title line, then one line per node in chain
// order, the joining node last. added is a node just added (add-node),
// which the view shows joining only once it has reached the master.
func (v masterView) writeText(out io.Writer, added string) error {
	joining := "none"
	switch {
	case v.Joining != nil:
		joining = v.Joining.ID
	case added != "":
		joining = "none yet (" + added + " joins once it reaches the master)"
	}
	if v.Epoch == 0 && len(v.Members) == 0 {
		_, err := fmt.Fprintf(out, "master %s: knows no configuration yet (no leader since it started)\n", v.Addr)
		return err
	}
	fmt.Fprintf(out, "master %s: epoch %d, joining: %s\n", v.Addr, v.Epoch, joining)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	rows := v.Members
	if v.Joining != nil {
		rows = append(rows[:len(rows):len(rows)], *v.Joining)
	}
	for _, m := range rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", m.ID, m.Addr, m.Role)
	}
	return w.Flush()
}

// masterState is one master of the group as status prints it.
type masterState struct {
	Addr string `json:"addr"`
	// State is "leader", "follower" or "unreachable".
	State string `json:"state"`
	// Epoch is the epoch of the configuration the master has applied.
	Epoch uint64 `json:"epoch,omitempty"`
	// Leader is the leader the master names.
	Leader string `json:"leader,omitempty"`
	Err    string `json:"error,omitempty"`
}

// masterAskLimit bounds how long status waits for each master of a group,
// so a master that is down does not use up the command's time limit.
const masterAskLimit = 2 * time.Second

// masterStates asks every master for its ConfigUpdate, at once, and
// returns their states and the configuration to show: the leader's, or
// else the latest a master answered with. It fails when no master
// answers.
func (s *console) masterStates(ctx context.Context) ([]masterState, string, chain.Config, error) {
	states := make([]masterState, len(s.masters))
	updates := make([]*wire.ConfigUpdate, len(s.masters))
	errs := make([]error, len(s.masters))
	var wg sync.WaitGroup
	for i, addr := range s.masters {
		wg.Go(func() {
			actx := ctx
			if len(s.masters) > 1 {
				var cancel context.CancelFunc
				actx, cancel = context.WithTimeout(ctx, masterAskLimit)
				defer cancel()
			}
			var u *wire.ConfigUpdate
			err := s.reaching(actx, "the master", []string{addr}, func(ctx context.Context) (err error) {
				u, err = masterclient.FetchUpdate(ctx, s.tr, addr)
				return err
			})
			states[i] = masterState{Addr: addr, State: "unreachable"}
			if err != nil {
				states[i].Err, errs[i] = unreachableCause(err), err
				return
			}
			updates[i] = u
			states[i] = masterState{Addr: addr, State: "leader", Epoch: u.Config.Epoch, Leader: u.Leader}
			if u.Follower {
				states[i].State = "follower"
			}
		})
	}
	wg.Wait()
	best := -1
	for i, u := range updates {
		switch {
		case u == nil:
		case best < 0, !u.Follower && updates[best].Follower,
			u.Follower == updates[best].Follower && u.Config.Epoch > updates[best].Config.Epoch:
			best = i
		}
	}
	if best < 0 {
		return states, "", chain.Config{}, errors.Join(errs...)
	}
	return states, s.masters[best], updates[best].Config, nil
}

// admin sends an add or remove request to the master (a group's leader)
// and prints the configuration it answers with.
func (s *call) admin(ctx context.Context, req *wire.AdminRequest) error {
	what := map[wire.AdminOp]string{
		wire.AdminAddNode: "add-node", wire.AdminRemoveNode: "remove-node",
		wire.AdminAddMaster: "add-master", wire.AdminRemoveMaster: "remove-master",
	}[req.Op]
	if len(s.masters) == 0 {
		return fmt.Errorf("%s needs the master: use -master or CHAIN_MASTER", what)
	}
	if err := adminAllowed(s.identity, what); err != nil {
		return err
	}
	resp, from, err := masterclient.AdminFrom(ctx, s.tr, s.masters, req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, req.Member.ID, err)
	}
	cfg, added := resp.Config, ""
	if req.Op == wire.AdminAddNode && s.part == nil && cfg.Role(req.Member.ID) == chain.RoleNone {
		// The answer holds the node as a standby: wait for it to join
		// (see awaitJoin), so the view printed is the one it joined.
		var joined bool
		if cfg, joined = s.awaitJoin(ctx, from, req.Member.ID, cfg); !joined {
			added = req.Member.ID
		}
	}
	view := newMasterView(from, cfg)
	if s.json {
		if s.part != nil {
			return json.NewEncoder(s.out).Encode(map[string]any{"op": what, "id": req.Member.ID, "chain": req.Chain, "config": view})
		}
		return json.NewEncoder(s.out).Encode(map[string]any{"op": what, "id": req.Member.ID, "config": view})
	}
	if s.part != nil && (req.Op == wire.AdminAddNode || req.Op == wire.AdminRemoveNode) {
		fmt.Fprintf(s.out, "chain %s: ", req.Chain)
	}
	switch {
	case req.Op == wire.AdminAddMaster:
		fmt.Fprintf(s.out, "added master %s (raft %s) to the group: it caught up with the leader and votes\n", req.Member.ID, req.Member.Addr)
		return nil
	case req.Op == wire.AdminRemoveMaster:
		fmt.Fprintf(s.out, "removed master %s from the group\n", req.Member.ID)
		return nil
	case req.Op == wire.AdminRemoveNode:
		fmt.Fprintf(s.out, "removed %s\n", req.Member.ID)
	case resp.Config.Role(req.Member.ID) == chain.RoleNone && added != "":
		fmt.Fprintf(s.out, "added %s at %s: it joins behind the tail once it reaches the master, then becomes the tail\n",
			req.Member.ID, req.Member.Addr)
		return view.writeText(s.out, added)
	case resp.Config.Role(req.Member.ID) == chain.RoleNone && cfg.Role(req.Member.ID) == chain.RoleJoining:
		fmt.Fprintf(s.out, "added %s at %s: it reached the master and joins behind the tail, then becomes the tail once it has caught up\n",
			req.Member.ID, req.Member.Addr)
	case resp.Config.Role(req.Member.ID) == chain.RoleNone:
		fmt.Fprintf(s.out, "added %s at %s: it joined the chain (%s)\n", req.Member.ID, req.Member.Addr, cfg.Role(req.Member.ID))
	default:
		fmt.Fprintf(s.out, "%s is already in the chain (%s)\n", req.Member.ID, resp.Config.Role(req.Member.ID))
	}
	return view.writeText(s.out, "")
}

// status prints, with a master, every master's state (which one leads)
// and the leader's view of the chain, then asks every node (the joining
// one included) for its status and whether it serves; a node that is
// unreachable, fenced or stopped is reported in its row with the cause.
// It returns an errCannotServe, after printing, when the chain cannot
// serve (chainProblems).
func (s *call) status(ctx context.Context) error {
	if s.part != nil {
		return s.partitionedStatus(ctx)
	}
	cfg := s.cfg
	var view *masterView
	var masters []masterState
	if len(s.masters) > 0 {
		var from string
		var err error
		if masters, from, cfg, err = s.masterStates(ctx); err != nil {
			return err
		}
		v := newMasterView(from, cfg)
		view = &v
	}
	rows := s.nodeRows(ctx, cfg)
	problems := chainProblems(rows, len(cfg.Members), masters)
	if s.json {
		var err error
		if view != nil {
			err = json.NewEncoder(s.out).Encode(map[string]any{"masters": masters, "master": view, "nodes": rows, "problems": problems})
		} else {
			err = json.NewEncoder(s.out).Encode(rows)
		}
		if err != nil {
			return err
		}
	} else if err := writeStatus(s.out, masters, view, rows); err != nil {
		return err
	}
	if len(problems) > 0 {
		return errCannotServe(problems)
	}
	return nil
}

// nodeRows asks every node of cfg (the joining one last) for its status
// and whether it serves, all at once, so an unreachable node (asked
// until the command's time limit, unless it refuses connections) does not
// hold up the others.
func (s *call) nodeRows(ctx context.Context, cfg chain.Config) []nodeStatus {
	nodes := cfg.Members
	if cfg.Joining != nil {
		nodes = append(nodes[:len(nodes):len(nodes)], *cfg.Joining)
	}
	rows := make([]nodeStatus, len(nodes))
	var wg sync.WaitGroup
	for i, m := range nodes {
		wg.Go(func() {
			rows[i] = nodeStatus{ID: m.ID, Addr: m.Addr, Role: "unreachable"}
			var st *chain.NodeStatus
			err := s.reaching(ctx, "", []string{m.Addr}, func(ctx context.Context) (err error) {
				st, err = s.client.Status(ctx, m.Addr)
				return err
			})
			if err != nil {
				rows[i].Problem = "unreachable: " + unreachableCause(err)
				return
			}
			rows[i] = nodeStatus{ID: m.ID, Addr: m.Addr, Role: st.Role.String(), Epoch: st.Epoch,
				Last: st.LastOffset, Commit: st.CommitPoint, Applied: st.Applied, Inflight: st.InflightBytes, Err: st.Err,
				Links: linkStatusOf(st.Links, st.Role, cfg.Joining != nil)}
			rows[i].Serving = st.Err == ""
			if st.Err != "" {
				rows[i].Problem = "stopped: " + st.Err
			}
		})
	}
	wg.Wait()
	var addrs []string
	var idx []int
	for i, r := range rows {
		if r.Role != "unreachable" && r.Problem == "" {
			addrs, idx = append(addrs, r.Addr), append(idx, i)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, masterAskLimit)
	defer cancel()
	if refusals, err := serveProbes(pctx, s.tr, addrs); err == nil {
		for j, r := range refusals {
			if r != nil {
				rows[idx[j]].Problem, rows[idx[j]].Serving = probeProblem(r)
			}
		}
	}
	var headLast uint64
	for _, r := range rows {
		if r.Role != "unreachable" {
			headLast = max(headLast, r.Last)
		}
	}
	for i := range rows {
		if rows[i].Role != "unreachable" {
			rows[i].Lag = headLast - rows[i].Last
		}
	}
	return rows
}

// writeStatus prints status as text: the masters and the master's view
// (with -master), then one row per node.
func writeStatus(out io.Writer, masters []masterState, view *masterView, rows []nodeStatus) error {
	if view != nil {
		if err := writeMasters(out, masters); err != nil {
			return err
		}
		if err := view.writeText(out, ""); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tADDR\tROLE\tEPOCH\tLAST\tCOMMIT\tAPPLIED\tLAG\tIN-FLIGHT\tLINKS\tPROBLEM")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n",
			r.ID, r.Addr, r.Role, r.Epoch, r.Last, r.Commit, r.Applied, r.Lag, r.Inflight, r.Links.text(), r.Problem)
	}
	return w.Flush()
}

// writeMasters prints one line per master: its address and state.
func writeMasters(out io.Writer, masters []masterState) error {
	fmt.Fprintln(out, "masters:")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, m := range masters {
		switch {
		case m.State == "unreachable":
			fmt.Fprintf(w, "  %s\t%s\t%s\n", m.Addr, m.State, m.Err)
		default:
			fmt.Fprintf(w, "  %s\t%s\tepoch %d\n", m.Addr, m.State, m.Epoch)
		}
	}
	return w.Flush()
}
