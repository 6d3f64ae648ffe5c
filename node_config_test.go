package chain

import "testing"

func TestNewNodeConfigPlacesTheNode(t *testing.T) {
	n1, n2, n3 := Member{ID: "n1", Addr: "a1"}, Member{ID: "n2", Addr: "a2"}, Member{ID: "n3", Addr: "a3"}
	n4 := Member{ID: "n4", Addr: "a4"}
	three := Config{Epoch: 2, Members: []Member{n1, n2, n3}}
	joining := Config{Epoch: 3, Members: []Member{n1, n2, n3}, Joining: &n4}
	for _, tc := range []struct {
		name       string
		cfg        Config
		id         string
		role       Role
		pred, succ string
	}{
		{"head", three, "n1", RoleHead, "", "a2"},
		{"middle", three, "n2", RoleMiddle, "a1", "a3"},
		{"tail", three, "n3", RoleTail, "a2", ""},
		{"sole member", Config{Epoch: 1, Members: []Member{n1}}, "n1", RoleHeadTail, "", ""},
		{"the tail feeds the joining node", joining, "n3", RoleTail, "a2", "a4"},
		{"the joining node pulls from the tail", joining, "n4", RoleJoining, "a3", ""},
		{"the head of a chain with a joining node", joining, "n1", RoleHead, "", "a2"},
		{"not a member", three, "n9", RoleNone, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := newNodeConfig(tc.cfg, tc.id)
			if nc.role != tc.role || nc.pred != tc.pred || nc.succ != tc.succ {
				t.Fatalf("role %v, pred %q, succ %q; want %v, %q, %q", nc.role, nc.pred, nc.succ, tc.role, tc.pred, tc.succ)
			}
			if nc.Epoch != tc.cfg.Epoch {
				t.Fatalf("epoch %d, want %d", nc.Epoch, tc.cfg.Epoch)
			}
		})
	}
}
