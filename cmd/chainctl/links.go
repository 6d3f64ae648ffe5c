package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/chainrep/chain/wire"
)

// linkStatus is the health of a node's replication links, as status
// prints it (see wire.LinkHealth): the ages are on the node's own clock,
// as of when it answered.
type linkStatus struct {
	// FromPredMS is how long ago, in milliseconds, the node last took a
	// response from its predecessor; absent at the head.
	FromPredMS *int64 `json:"from_pred_ms,omitempty"`
	// FromSuccMS is how long ago the node last heard a pull from its
	// successor; absent at a tail with no joining node.
	FromSuccMS *int64 `json:"from_succ_ms,omitempty"`
	// SuccBehind is how many entries its successor has not acknowledged.
	SuccBehind uint64 `json:"succ_behind"`
	// Cut is set when the link from its predecessor carried nothing for
	// the master's link timeout: the node stopped serving until the master
	// takes it out of the chain.
	Cut bool `json:"cut,omitempty"`
}

// linkStatusOf returns the links of a node whose status reports h (nil
// from a node that predates it), with a predecessor unless it is the
// head, and a successor unless it is a tail without a joining node.
func linkStatusOf(h *wire.LinkHealth, role wire.Role, joining bool) *linkStatus {
	if h == nil {
		return nil
	}
	ms := func(d time.Duration) *int64 { v := d.Milliseconds(); return &v }
	l := &linkStatus{Cut: h.Cut}
	if role != wire.RoleNone && !role.IsHead() {
		l.FromPredMS = ms(h.FromPred)
	}
	if role.IsMember() && (!role.IsTail() || joining) {
		l.FromSuccMS, l.SuccBehind = ms(h.FromSucc), h.SuccBehind
	}
	return l
}

// text is the LINKS column: "pred 12ms, succ 3ms, 5 behind", with "CUT"
// after a cut predecessor link; "-" when the node reports none.
func (l *linkStatus) text() string {
	if l == nil {
		return "-"
	}
	var parts []string
	if l.FromPredMS != nil {
		p := fmt.Sprintf("pred %v", time.Duration(*l.FromPredMS)*time.Millisecond)
		if l.Cut {
			p += " CUT"
		}
		parts = append(parts, p)
	}
	if l.FromSuccMS != nil {
		s := fmt.Sprintf("succ %v", time.Duration(*l.FromSuccMS)*time.Millisecond)
		if l.SuccBehind > 0 {
			s += fmt.Sprintf(", %d behind", l.SuccBehind)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
