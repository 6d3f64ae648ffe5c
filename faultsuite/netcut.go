package faultsuite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// A one-link cut: packets between two containers of the schedule's
// network are dropped by iptables rules in Docker's DOCKER-USER chain,
// while both keep every other link. Containers on one bridge pass the
// host's FORWARD chain (whose first jump is DOCKER-USER) only when
// br_netfilter is loaded and net.bridge.bridge-nf-call-iptables is 1; a
// cut sets it for its duration when it was 0 and puts it back at heal.
// The rules carry a comment naming the cluster, so that cleanup finds
// them whatever happened.

// bridgeSysctl is the switch that sends bridged packets through iptables.
const bridgeSysctl = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// Direction is which way a cut link drops packets.
type Direction int

// The directions of a cut between a and b.
const (
	Both Direction = iota // a to b and b to a
	AToB                  // only packets from a to b
	BToA                  // only packets from b to a
)

func (d Direction) String() string {
	return [...]string{"both ways", "one way, head to successor", "one way, successor to head"}[d]
}

// cutRules returns the iptables arguments that insert (op "-I") or
// delete (op "-D") the rules of a cut between the addresses a and b in
// direction d, tagged with comment.
func cutRules(op string, d Direction, a, b, comment string) [][]string {
	rule := func(src, dst string) []string {
		return []string{"-w", op, "DOCKER-USER", "-s", src, "-d", dst, "-m", "comment", "--comment", comment, "-j", "DROP"}
	}
	switch d {
	case AToB:
		return [][]string{rule(a, b)}
	case BToA:
		return [][]string{rule(b, a)}
	}
	return [][]string{rule(a, b), rule(b, a)}
}

// taggedRules returns the delete arguments of every rule of the listing
// (iptables -S DOCKER-USER) whose comment match accepts.
func taggedRules(listing string, match func(comment string) bool) [][]string {
	var out [][]string
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" {
			continue
		}
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "--comment" && match(strings.Trim(f[i+1], `"`)) {
				f[i+1] = strings.Trim(f[i+1], `"`)
				out = append(out, append([]string{"-w", "-D"}, f[1:]...))
				break
			}
		}
	}
	return out
}

// iptables runs iptables with args; an error says what it printed.
func iptables(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "iptables", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// linkCut is a cut in place: the rules to delete at heal and the value
// of the bridge switch to put back ("" when the cut did not change it).
type linkCut struct {
	rules   [][]string
	restore string
}

// cutLink drops packets between the addresses a and b in direction d. It
// fails, with nothing left in place, when iptables or br_netfilter is not
// usable here: the caller skips the fault and says so.
func (c *Cluster) cutLink(ctx context.Context, d Direction, a, b string) error {
	if _, err := iptables(ctx, "-w", "-S", "DOCKER-USER"); err != nil {
		return fmt.Errorf("no DOCKER-USER chain to put the cut in: %w", err)
	}
	if _, err := os.Stat(bridgeSysctl); err != nil {
		if out, err := exec.CommandContext(ctx, "modprobe", "br_netfilter").CombinedOutput(); err != nil {
			return fmt.Errorf("bridged packets do not pass iptables and modprobe br_netfilter failed: %w: %s", err, bytes.TrimSpace(out))
		}
	}
	cut := &linkCut{}
	was, err := os.ReadFile(bridgeSysctl)
	if err != nil {
		return fmt.Errorf("read %s: %w", bridgeSysctl, err)
	}
	if strings.TrimSpace(string(was)) != "1" {
		if err := os.WriteFile(bridgeSysctl, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("set %s: %w", bridgeSysctl, err)
		}
		cut.restore = strings.TrimSpace(string(was))
	}
	c.cut = cut
	del := cutRules("-D", d, a, b, c.ID)
	for i, r := range cutRules("-I", d, a, b, c.ID) {
		if _, err := iptables(ctx, r...); err != nil {
			return errors.Join(err, c.healLink(ctx))
		}
		cut.rules = append(cut.rules, del[i])
	}
	return nil
}

// healLink removes the cut in place, if any: its rules, then the bridge
// switch put back as it was.
func (c *Cluster) healLink(ctx context.Context) error {
	cut := c.cut
	if cut == nil {
		return nil
	}
	c.cut = nil
	var errs []error
	for _, r := range cut.rules {
		_, err := iptables(ctx, r...)
		errs = append(errs, err)
	}
	if cut.restore != "" {
		if err := os.WriteFile(bridgeSysctl, []byte(cut.restore), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", bridgeSysctl, err))
		}
	}
	return errors.Join(errs...)
}

// removeTaggedRules deletes every DOCKER-USER rule whose comment match
// accepts, such as an interrupted run leaves. Without iptables there are
// none.
func removeTaggedRules(ctx context.Context, match func(comment string) bool) error {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil
	}
	listing, err := iptables(ctx, "-w", "-S", "DOCKER-USER")
	if err != nil {
		return nil // no DOCKER-USER chain: no rule of ours either
	}
	var errs []error
	for _, r := range taggedRules(listing, match) {
		_, err := iptables(ctx, r...)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
