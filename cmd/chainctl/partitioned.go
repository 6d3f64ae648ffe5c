package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/masterclient"
	"github.com/chainrep/chain/kv"
	"github.com/chainrep/chain/wire"
)

// chainClient returns the client of the chain the log commands go to:
// the one chain, or the chain of a partitioned cluster that -chain names.
func (s *call) chainClient(ctx context.Context) (*chain.Client, error) {
	if s.part == nil {
		return s.client, nil
	}
	switch {
	case s.chainID == "" && len(s.chains) == 0:
		return nil, errors.New("this cluster has no chains yet: the master creates them once enough servers report")
	case s.chainID == "":
		return nil, fmt.Errorf("this cluster has %d chains: name one with -chain", len(s.chains))
	case len(s.chains) > 0 && !slices.Contains(s.chains, s.chainID):
		return nil, fmt.Errorf("no chain %q in this cluster (its chains: %s)", s.chainID, strings.Join(s.chains, ", "))
	}
	return s.part.Chain(ctx, s.chainID)
}

// kv returns the key-value client: of the one chain, or routing each
// key to the chain that serves it.
func (s *console) kv() *kv.Client {
	if s.part != nil {
		return kv.NewPartitionedClient(s.part)
	}
	return kv.NewClient(s.client)
}

// adminNode sends add-node or remove-node: to the chain -chain names in a
// partitioned cluster.
func (s *call) adminNode(ctx context.Context, req *wire.AdminRequest) error {
	if s.part != nil {
		if _, err := s.chainClient(ctx); err != nil {
			return err
		}
		req.Chain = s.chainID
	}
	return s.admin(ctx, req)
}

// chainView is one chain of a partitioned cluster as status prints it.
type chainView struct {
	ID     string `json:"id"`
	SlotLo uint32 `json:"slot_lo"`
	SlotHi uint32 `json:"slot_hi"`
	configView
}

// serverView is one server of a partitioned cluster as status prints it.
type serverView struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	Alive    bool   `json:"alive"`
	Replicas int    `json:"replicas"`
}

// clusterStatus is the status of a partitioned cluster.
type clusterStatus struct {
	Masters []masterState `json:"masters"`
	// Leader is the address of the master whose layout is shown (the
	// leader's, unless no master leads).
	Leader  string       `json:"leader"`
	Servers []serverView `json:"servers"`
	Chains  []chainView  `json:"chains"`
}

// clusterStatus asks every master (those given and the other members of
// their group) for its layout, at once, and keeps the leader's.
func (s *console) clusterStatus(ctx context.Context) (clusterStatus, error) {
	ask := func(addrs []string) ([]masterState, []*wire.ClusterUpdate, []error) {
		states := make([]masterState, len(addrs))
		updates := make([]*wire.ClusterUpdate, len(addrs))
		errs := make([]error, len(addrs))
		var wg sync.WaitGroup
		for i, addr := range addrs {
			wg.Go(func() {
				actx := ctx
				if len(s.masters) > 1 || i > 0 {
					var cancel context.CancelFunc
					actx, cancel = context.WithTimeout(ctx, masterAskLimit)
					defer cancel()
				}
				states[i] = masterState{Addr: addr, State: "unreachable"}
				var u *wire.ClusterUpdate
				err := s.reaching(actx, "the master", []string{addr}, func(ctx context.Context) (err error) {
					u, err = masterclient.FetchClusterUpdate(ctx, s.tr, addr)
					return err
				})
				if err != nil {
					states[i].Err, errs[i] = unreachableCause(err), err
					return
				}
				updates[i] = u
				states[i] = masterState{Addr: addr, State: "leader", Leader: u.Leader}
				if u.Follower {
					states[i].State = "follower"
				}
			})
		}
		wg.Wait()
		return states, updates, errs
	}
	states, updates, errs := ask(s.masters)
	// The other masters of the group, as the masters answered.
	var more []string
	for _, u := range updates {
		if u == nil {
			continue
		}
		for _, a := range u.Masters {
			if !slices.Contains(s.masters, a) && !slices.Contains(more, a) {
				more = append(more, a)
			}
		}
	}
	if len(more) > 0 {
		ms, us, es := ask(more)
		states, updates, errs = append(states, ms...), append(updates, us...), append(errs, es...)
	}
	best := -1
	for i, u := range updates {
		switch {
		case u == nil:
		case best < 0, !u.Follower && updates[best].Follower:
			best = i
		}
	}
	if best < 0 {
		return clusterStatus{}, errors.Join(errs...)
	}
	u := updates[best]
	st := clusterStatus{Masters: states, Leader: states[best].Addr, Servers: []serverView{}, Chains: []chainView{}}
	for _, sv := range u.Cluster.Servers {
		st.Servers = append(st.Servers, serverView{ID: sv.ID, Addr: sv.Addr, Alive: sv.Alive, Replicas: sv.Replicas})
	}
	for _, ch := range u.Cluster.Chains {
		st.Chains = append(st.Chains, chainView{ID: ch.ID, SlotLo: ch.SlotLo, SlotHi: ch.SlotHi, configView: newConfigView(ch.Config)})
	}
	return st, nil
}

// partitionedStatus prints the status of a partitioned cluster.
func (s *call) partitionedStatus(ctx context.Context) error {
	st, err := s.clusterStatus(ctx)
	if err != nil {
		return err
	}
	if s.json {
		err = json.NewEncoder(s.out).Encode(st)
	} else {
		err = st.writeText(s.out)
	}
	if err != nil {
		return err
	}
	if problems := clusterProblems(st); len(problems) > 0 {
		return errCannotServe(problems)
	}
	return nil
}

// clusterProblems is the rule of a partitioned cluster's status: why some
// of its chains cannot serve, or none. No master leading (no replica can
// be replaced, and the replicas fence themselves), a chain without
// members and a server that hosts replicas but stopped reporting each
// are one.
func clusterProblems(st clusterStatus) []string {
	var out []string
	leads, reachable := false, 0
	for _, m := range st.Masters {
		leads = leads || m.State == "leader"
		if m.State != "unreachable" {
			reachable++
		}
	}
	if !leads {
		out = append(out, fmt.Sprintf("no master leads (%d of %d reachable)", reachable, len(st.Masters)))
	}
	for _, sv := range st.Servers {
		if !sv.Alive && sv.Replicas > 0 && leads {
			out = append(out, fmt.Sprintf("server %s (%s) stopped reporting, with %d replicas", sv.ID, sv.Addr, sv.Replicas))
		}
	}
	for _, ch := range st.Chains {
		if len(ch.Members) == 0 {
			out = append(out, "chain "+ch.ID+" has no members")
		}
	}
	return out
}

// writeText prints the masters, the servers and the chains.
func (st clusterStatus) writeText(out io.Writer) error {
	fmt.Fprintln(out, "masters:")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, m := range st.Masters {
		if m.Err != "" {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", m.Addr, m.State, m.Err)
		} else {
			fmt.Fprintf(w, "  %s\t%s\n", m.Addr, m.State)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	follower := ""
	for _, m := range st.Masters {
		if m.Addr == st.Leader && m.State != "leader" {
			follower = " (no master leads: a follower's view, servers not known alive)"
		}
	}
	fmt.Fprintf(out, "servers%s:\n", follower)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  ID\tADDR\tALIVE\tREPLICAS")
	for _, sv := range st.Servers {
		alive := "no"
		if sv.Alive {
			alive = "yes"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%d\n", sv.ID, sv.Addr, alive, sv.Replicas)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(st.Chains) == 0 {
		_, err := fmt.Fprintln(out, "chains: none yet (the master creates them once enough servers report)")
		return err
	}
	fmt.Fprintln(out, "chains:")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  ID\tSLOTS\tEPOCH\tMEMBERS (HEAD FIRST)\tJOINING")
	for _, ch := range st.Chains {
		ids := make([]string, len(ch.Members))
		for i, m := range ch.Members {
			ids[i] = m.ID
		}
		joining := "-"
		if ch.Joining != nil {
			joining = ch.Joining.ID
		}
		fmt.Fprintf(w, "  %s\t[%d,%d)\t%d\t%s\t%s\n", ch.ID, ch.SlotLo, ch.SlotHi, ch.Epoch, strings.Join(ids, " "), joining)
	}
	return w.Flush()
}
