package master

import (
	"log/slog"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// The link rule. A node's heartbeats report the health of its replication
// links (wire.Heartbeat.Links): how long ago it last took a response from
// its predecessor and last heard a pull from its successor, how far its
// successor is behind, and whether the link from its predecessor is cut:
// it carried nothing for the link timeout (the master's failure timeout,
// wire.ConfigUpdate.LinkTimeout), and the node has stopped serving for the
// rest of its epoch (see replica.LinkWatch).
//
// A cut link between two live neighbours stalls the chain: no write
// reaches the tail, and neither end stops heartbeating, so the failure
// detector alone would wait for as long as the cut lasts. The rule: when
// both ends of a link between two members are plainly alive (heard from
// within half the failure timeout), the upstream end runs the current
// configuration and its log, as it last reported it, reaches at least as
// far as the downstream end's, and the downstream end reports the link
// from its predecessor cut at the current epoch, the master takes the downstream
// end out of the chain, in a configuration of its own (at most one change
// a tick; with several cut links, the one nearest the head first, so a
// node cut off from both neighbours leaves and its successor stays). The
// removed node rejoins as a new node, behind the tail, once it can catch
// up (the path of any removed node that is alive: a standby node).
//
// Why half the timeout. An upstream end that dies goes silent to the
// master and to its successor at once; its successor reports the cut
// about a failure timeout later (less at most a keep-alive interval, an
// eighth of it), when the master has not heard from the dead node for
// over half the timeout: the rule leaves it to the failure detector,
// which removes the dead node, not its live successor (in a chain of two,
// removing the successor would leave the dead node as the last member).
//
// Why the downstream end. By the prefix invariant the upstream end holds
// every entry the downstream end holds, so taking the downstream end out
// never loses an entry, committed or not: it can never remove a node that
// holds entries nobody else has. The invariant holds between members that
// run the configuration; an upstream end that restarted and waits for the
// master to confirm its place (it reports no epoch, and serves no pull,
// so its successor hears nothing) may hold less, even nothing, so the
// rule asks the upstream end to report the current epoch and a log at
// least as long as the downstream end's. The upstream end may hold entries nobody
// else has (the old tail above a new tail still catching up holds
// committed ones), so it is never the one to leave. The downstream end
// serves nothing by then: it fenced itself before it sent the heartbeat
// the master acts on, and stays fenced until it adopts a later
// configuration, so no reconfiguration waits for its lease to run out.
//
// Bounded time. The downstream end hears nothing from the moment of the
// cut (or at most replica.StreamWindow keep-alives later, when only its
// pulls are lost), reports the cut with its first heartbeat after the
// link timeout, and the master decides at its next tick: the chain is
// reconfigured about one failure timeout, plus a heartbeat interval and
// a tick, after the cut.
//
// The upstream end's view (how long ago its successor pulled) is reported
// for the operator (chainctl status) but decides nothing: whenever the
// link is cut, the downstream end's report says so too, and only its
// report shows that it has stopped serving.

// linkReport is a node's latest report of its links, with the epoch it
// was made at.
type linkReport struct {
	epoch  uint64
	health wire.LinkHealth
}

// linkCut is a replication link the master takes for cut.
type linkCut struct {
	Pred, Succ string        // the ids of its upstream and downstream ends
	Silent     time.Duration // how long the downstream end had heard nothing, as it reported
}

// linkEnd is what the link rule needs to know of a member.
type linkEnd struct {
	// Alive is set when the master heard from the member within half the
	// failure timeout.
	Alive bool
	// Epoch and Last are the epoch and last offset of its latest
	// heartbeat.
	Epoch, Last uint64
	// Report is the member's latest link report at the configuration's
	// epoch; nil if none (none yet, an older epoch, a node that does not
	// report it).
	Report *wire.LinkHealth
}

// cutLink is the link rule for the configuration of members at epoch: of
// the links between consecutive members, the one nearest the head whose
// ends are both alive (linkEnd.Alive), whose upstream end runs epoch with
// a log no shorter than the downstream end's, and whose downstream end
// reports it cut. The joining node's link is left out: it stalls no
// write, and a joining node that cannot catch up is not promoted anyway.
func cutLink(members []chain.Member, epoch uint64, ends map[string]linkEnd) (linkCut, bool) {
	for i := 1; i < len(members); i++ {
		pred, succ := ends[members[i-1].ID], ends[members[i].ID]
		if pred.Alive && succ.Alive && pred.Epoch == epoch && pred.Last >= succ.Last && succ.Report != nil && succ.Report.Cut {
			return linkCut{Pred: members[i-1].ID, Succ: members[i].ID, Silent: succ.Report.FromPred}, true
		}
	}
	return linkCut{}, false
}

// linkEnds returns what the link rule needs of cfg's members at now.
func (s *state) linkEnds(now time.Time) map[string]linkEnd {
	ends := make(map[string]linkEnd, len(s.cfg.Members))
	for _, m := range s.cfg.Members {
		ns := s.nodes[m.ID]
		e := linkEnd{Alive: ns != nil && now.Sub(ns.lastSeen) <= s.timeout/2 && !s.isLost(m.ID)}
		if ns != nil {
			e.Epoch, e.Last = ns.epoch, ns.last
		}
		if ns != nil && ns.links != nil && ns.links.epoch == s.cfg.Epoch {
			h := ns.links.health
			e.Report = &h
		}
		ends[m.ID] = e
	}
	return ends
}

// noteLinks records the link report of a heartbeat.
func (ns *nodeState) noteLinks(hb *wire.Heartbeat) {
	if hb.Links == nil {
		ns.links = nil
		return
	}
	ns.links = &linkReport{epoch: hb.Epoch, health: *hb.Links}
}

// removeCut returns members without the downstream end of the cut link
// the rule finds at now, and the link; members unchanged and false when
// it finds none.
func (s *state) removeCut(members []chain.Member, now time.Time) ([]chain.Member, linkCut, bool) {
	cut, ok := cutLink(members, s.cfg.Epoch, s.linkEnds(now))
	if !ok {
		return members, linkCut{}, false
	}
	kept := make([]chain.Member, 0, len(members)-1)
	for _, m := range members {
		if m.ID != cut.Succ {
			kept = append(kept, m)
		}
	}
	if cut.Succ == s.handoff.ID {
		s.handoff = handoff{} // the new tail leaves before it caught up
	}
	s.cuts = append(s.cuts, cut)
	return kept, cut, true
}

// chainCut is a link cut decided in a chain, for the master's log.
type chainCut struct {
	chain string
	cut   linkCut
	epoch uint64 // the epoch of the configuration that takes it out
}

// takeLinkCuts returns the link cuts the chains' ticks decided since the
// last call, and forgets them.
func (cl *cluster) takeLinkCuts() []chainCut {
	var out []chainCut
	for _, s := range cl.chains {
		for _, c := range s.cuts {
			out = append(out, chainCut{chain: s.id, cut: c, epoch: s.cfg.Epoch})
		}
		s.cuts = nil
	}
	return out
}

// logLinkCuts logs the cause of each reconfiguration the link rule made.
func logLinkCuts(log *slog.Logger, cuts []chainCut) {
	for _, c := range cuts {
		log.Warn("replication link cut between live neighbours: the downstream end leaves the chain "+
			"(it holds nothing its predecessor lacks) and rejoins as a new node",
			"chain", c.chain, "pred", c.cut.Pred, "succ", c.cut.Succ, "silent", c.cut.Silent, "epoch", c.epoch)
	}
}
