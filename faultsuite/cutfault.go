package faultsuite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// linkRuleMsg starts the master's log message when its link rule takes
// the downstream end of a cut link out of the chain (master/links.go).
const linkRuleMsg = `msg="replication link cut between live neighbours`

// linkRuleLine returns the first line of a master's log (slog's text
// format) in which the link rule took succ out for its link from pred.
func linkRuleLine(logs, pred, succ string) (string, bool) {
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, linkRuleMsg) {
			continue
		}
		f := strings.Fields(line)
		if slices.Contains(f, "pred="+pred) && slices.Contains(f, "succ="+succ) {
			return strings.TrimSpace(line), true
		}
	}
	return "", false
}

// cutHead cuts the link between the head and its successor only, in the
// step's direction (Target modulo 3), for Hold, and heals it. The head
// and the successor keep their links to the masters, the clients and the
// rest of the chain, so neither looks dead: the master's link rule must
// take the successor out (the violation returned when no master's log
// says it did within Hold and two more failure timeouts). Where iptables
// or br_netfilter is not usable the step is skipped and says why.
func (c *Cluster) cutHead(ctx context.Context, st Step, v View) (string, []string, error) {
	if len(v.Members) < 2 {
		return fmt.Sprintf("%s: skipped, the chain %v has no link from its head", st, v.Members), nil, nil
	}
	head, succ, d := v.Members[0], v.Members[1], Direction(st.Target%3)
	did := fmt.Sprintf("%s: %s-%s cut %s (view: epoch %d, %v, leader %s)", st, head, succ, d, v.Epoch, v.Members, v.Leader)
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	if err := c.cutLink(ctx, d, ip(head), ip(succ)); err != nil {
		return fmt.Sprintf("%s: SKIPPED, this host cannot cut one link: %v", st, err), nil, nil
	}
	sleep(ctx, st.Hold)
	line, seen := c.linkRuleSeen(ctx, since, head, succ)
	for deadline := time.Now().Add(2 * c.FT); !seen && time.Now().Before(deadline) && ctx.Err() == nil; {
		sleep(ctx, 200*time.Millisecond)
		line, seen = c.linkRuleSeen(ctx, since, head, succ)
	}
	if err := c.healLink(ctx); err != nil {
		return did, nil, fmt.Errorf("heal the cut: %w", err)
	}
	after, _ := c.View()
	if !seen {
		return did, []string{fmt.Sprintf("%s: no master took %s out for its cut link from %s within %v of the cut (view after: epoch %d, %v)",
			st, succ, head, st.Hold+2*c.FT, after.Epoch, after.Members)}, nil
	}
	return fmt.Sprintf("%s; the link rule acted: %s; view after: epoch %d, %v", did, line, after.Epoch, after.Members), nil, nil
}

// linkRuleSeen looks for the link rule's line for pred and succ in every
// master's log since the time since.
func (c *Cluster) linkRuleSeen(ctx context.Context, since, pred, succ string) (string, bool) {
	for _, m := range masterNames {
		out, _ := docker(ctx, "logs", "--since", since, c.Name(m))
		if line, ok := linkRuleLine(out, pred, succ); ok {
			return m + ": " + line, true
		}
	}
	return "", false
}
