package replica

import (
	"strings"
	"testing"

	"github.com/chainrep/chain/wire"
)

type handlersOf struct{ commands, queries []string }

func (h handlersOf) HasCommand(name string) bool { return contains(h.commands, name) }
func (h handlersOf) HasQuery(name string) bool   { return contains(h.queries, name) }

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func TestAdmit(t *testing.T) {
	view := func(role wire.Role, edit func(*NodeView)) NodeView {
		v := NodeView{Epoch: 3, Role: role, HeadAddr: "h", TailAddr: "t", MaxEntrySize: 8,
			Handlers: handlersOf{commands: []string{"put"}, queries: []string{"get"}}}
		if edit != nil {
			edit(&v)
		}
		return v
	}
	tests := []struct {
		name     string
		v        NodeView
		req      wire.ClientRequest
		code     wire.Code // 0: admitted
		redirect string
		message  string // a part of the refusal's message
	}{
		{"an append at the head", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1, Epoch: 3, Data: []byte("x")}, 0, "", ""},
		{"a client that knows no epoch is admitted", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpCommand, ID: 1, Name: "put"}, 0, "", ""},
		{"a stopped node refuses everything", view(wire.RoleHead, func(v *NodeView) { v.Halted = "disk full" }),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1}, wire.CodeClosed, "", "disk full"},
		{"a fenced node refuses", view(wire.RoleTail, func(v *NodeView) { v.Fenced = true }),
			wire.ClientRequest{Op: wire.OpLatest, ID: 1}, wire.CodeClosed, "", "fenced"},
		{"a node told of a newer configuration admits no read under the old one", view(wire.RoleTail, func(v *NodeView) { v.Superseding = 4 }),
			wire.ClientRequest{Op: wire.OpLatest, ID: 1, Epoch: 3}, wire.CodeStaleEpoch, "", "adopting epoch 4"},
		{"nor a write", view(wire.RoleHead, func(v *NodeView) { v.Superseding = 5 }),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1, Data: []byte("x")}, wire.CodeStaleEpoch, "", "adopting epoch 5 after 3"},
		{"nor a request of a client that already knows the newer epoch", view(wire.RoleTail, func(v *NodeView) { v.Superseding = 4 }),
			wire.ClientRequest{Op: wire.OpLatest, ID: 1, Epoch: 4}, wire.CodeStaleEpoch, "", "adopting"},
		{"the configuration adopted, it serves again", view(wire.RoleTail, func(v *NodeView) { v.Superseding = 3 }),
			wire.ClientRequest{Op: wire.OpLatest, ID: 1, Epoch: 3}, 0, "", ""},
		{"a fenced node told of a newer configuration says it is fenced", view(wire.RoleTail, func(v *NodeView) { v.Fenced, v.Superseding = true, 4 }),
			wire.ClientRequest{Op: wire.OpLatest, ID: 1}, wire.CodeClosed, "", "fenced"},
		{"another epoch is refused", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1, Epoch: 2}, wire.CodeStaleEpoch, "", "epoch"},
		{"request id 0 is refused", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpAppend}, wire.CodeInvalidArgument, "", "id 0"},
		{"a write at a middle node is redirected to the head", view(wire.RoleMiddle, nil),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1}, wire.CodeNotHead, "h", ""},
		{"an oversized entry", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1, Data: make([]byte, 9)}, wire.CodeTooLarge, "", "9 bytes"},
		{"a raw append that names a command", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpAppend, ID: 1, Name: "put"}, wire.CodeInvalidArgument, "", "raw append"},
		{"an unknown command", view(wire.RoleHeadTail, nil),
			wire.ClientRequest{Op: wire.OpCommand, ID: 1, Name: "del"}, wire.CodeUnknownCommand, "", `"del"`},
		{"a read at the head is redirected to the tail", view(wire.RoleHead, nil),
			wire.ClientRequest{Op: wire.OpRead, ID: 1, From: 1, Max: 1}, wire.CodeNotTail, "t", ""},
		{"a catching-up tail answers no reads", view(wire.RoleTail, func(v *NodeView) { v.CatchingUp = true }),
			wire.ClientRequest{Op: wire.OpLatest, ID: 1}, wire.CodeBusy, "", "catching up"},
		{"a query at the tail", view(wire.RoleTail, nil),
			wire.ClientRequest{Op: wire.OpQuery, ID: 1, Name: "get"}, 0, "", ""},
		{"an unknown query", view(wire.RoleTail, nil),
			wire.ClientRequest{Op: wire.OpQuery, ID: 1, Name: "scan"}, wire.CodeUnknownQuery, "", `"scan"`},
		{"an oversized query", view(wire.RoleTail, nil),
			wire.ClientRequest{Op: wire.OpQuery, ID: 1, Name: "get", Data: make([]byte, 9)}, wire.CodeTooLarge, "", "query"},
		{"a read from offset 0", view(wire.RoleTail, nil),
			wire.ClientRequest{Op: wire.OpRead, ID: 1, Max: 1}, wire.CodeInvalidArgument, "", "from >= 1"},
		{"a read of no entries", view(wire.RoleTail, nil),
			wire.ClientRequest{Op: wire.OpRead, ID: 1, From: 1}, wire.CodeInvalidArgument, "", "max >= 1"},
		{"an unknown operation", view(wire.RoleTail, nil),
			wire.ClientRequest{Op: 99, ID: 1}, wire.CodeInvalidArgument, "", "unknown operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Admit(tt.v, &tt.req)
			if tt.code == 0 {
				if got != nil {
					t.Fatalf("refused with %v, want admitted", got)
				}
				return
			}
			if got == nil || got.Code != tt.code || got.Redirect != tt.redirect || !strings.Contains(got.Message, tt.message) {
				t.Fatalf("Admit = %+v, want code %v, redirect %q, message with %q", got, tt.code, tt.redirect, tt.message)
			}
		})
	}
}
