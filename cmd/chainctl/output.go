package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/chainrep/chain"
)

// print writes v as JSON with -json, text otherwise.
func (s *session) print(v any, text string) error {
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

func (s *session) printEntries(ents []chain.Entry) error {
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
	Err      string `json:"error,omitempty"`
}

// status asks every member for its status; an unreachable member is
// reported in its row.
func (s *session) status(ctx context.Context) error {
	rows := make([]nodeStatus, len(s.cfg.Members))
	var headLast uint64
	for i, m := range s.cfg.Members {
		rows[i] = nodeStatus{ID: m.ID, Addr: m.Addr, Role: "unreachable"}
		st, err := s.client.Status(ctx, m.Addr)
		if err != nil {
			rows[i].Err = err.Error()
			continue
		}
		rows[i] = nodeStatus{ID: st.ID, Addr: m.Addr, Role: st.Role.String(), Epoch: st.Epoch,
			Last: st.LastOffset, Commit: st.CommitPoint, Applied: st.Applied, Inflight: st.InflightBytes, Err: st.Err}
		headLast = max(headLast, st.LastOffset)
	}
	for i := range rows {
		if rows[i].Role != "unreachable" {
			rows[i].Lag = headLast - rows[i].Last
		}
	}
	if s.json {
		return json.NewEncoder(s.out).Encode(rows)
	}
	w := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tADDR\tROLE\tEPOCH\tLAST\tCOMMIT\tAPPLIED\tLAG\tIN-FLIGHT\tERROR")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n",
			r.ID, r.Addr, r.Role, r.Epoch, r.Last, r.Commit, r.Applied, r.Lag, r.Inflight, r.Err)
	}
	return w.Flush()
}
