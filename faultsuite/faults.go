package faultsuite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// target returns the process a step aims at, from the load program's
// last view: a node by role, or a master, leading or not.
func target(st Step, v View) (string, error) {
	pick := func(c []string) (string, error) {
		if len(c) == 0 {
			return "", fmt.Errorf("%s: no candidate in view %+v", st.Kind, v)
		}
		return c[st.Target%len(c)], nil
	}
	leader := strings.TrimSuffix(v.Leader, ":7000")
	switch st.Kind {
	case IsolateLeader, PauseLeader, KillLeader, KillMidConfig:
		if leader == "" {
			return "", fmt.Errorf("%s: no master leads in view %+v", st.Kind, v)
		}
		return leader, nil
	case IsolateMaster, RestartMaster:
		return pick(slices.DeleteFunc(slices.Clone(masterNames), func(m string) bool { return m == leader }))
	case IsolateHead:
		return pick(v.Members[:min(1, len(v.Members))])
	case IsolateTail:
		return pick(v.Members[max(0, len(v.Members)-1):])
	case IsolateMiddle:
		if len(v.Members) < 3 {
			return pick(v.Members)
		}
		return pick(v.Members[1 : len(v.Members)-1])
	}
	return pick(v.Members)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Apply carries out one step and heals it before returning: whatever it
// disconnected is connected, paused unpaused, killed started, cut
// joined. It returns what it did and, for a step with an expected effect
// (a cut link: the master takes the downstream end out), the violations
// of that expectation; an error means the step could not be carried out.
func (c *Cluster) Apply(ctx context.Context, st Step) (string, []string, error) {
	v, err := c.View()
	if err != nil {
		return "", nil, err
	}
	switch st.Kind {
	case AddNode, Rolling:
		did, err := c.applyAll(ctx, st, v)
		return did, nil, err
	case CutHeadLink:
		return c.cutHead(ctx, st, v)
	}
	did, err := c.apply(ctx, st, v)
	return did, nil, err
}

// apply carries out a step aimed at one process.
func (c *Cluster) apply(ctx context.Context, st Step, v View) (string, error) {
	proc, err := target(st, v)
	if err != nil {
		return "", err
	}
	name := c.Name(proc)
	did := fmt.Sprintf("%s on %s (view: epoch %d, %v, leader %s)", st, proc, v.Epoch, v.Members, v.Leader)
	switch st.Kind {
	case IsolateLeader, IsolateMaster, IsolateHead, IsolateTail, IsolateMiddle:
		if _, err := docker(ctx, "network", "disconnect", c.ID, name); err != nil {
			return did, err
		}
		sleep(ctx, st.Hold)
		_, err = docker(ctx, "network", "connect", "--ip", ip(proc), "--alias", proc, c.ID, name)
	case PauseNode, PauseLeader:
		if _, err := docker(ctx, "pause", name); err != nil {
			return did, err
		}
		sleep(ctx, st.Hold)
		_, err = docker(ctx, "unpause", name)
	case KillNode, KillLeader:
		if _, err := docker(ctx, "kill", "-s", "KILL", name); err != nil {
			return did, err
		}
		sleep(ctx, st.Hold)
		_, err = docker(ctx, "start", name)
	case RestartNode, RestartMaster:
		_, err = docker(ctx, "restart", "-t", "5", name)
	case WipeNode:
		if _, err := docker(ctx, "kill", "-s", "KILL", name); err != nil {
			return did, err
		}
		if err := os.RemoveAll(filepath.Join(c.Dir, proc, proc)); err != nil {
			return did, fmt.Errorf("wipe %s: %w", proc, err)
		}
		sleep(ctx, st.Hold)
		_, err = docker(ctx, "start", name)
	case KillMidConfig:
		err = c.killMidConfig(ctx, st, v, proc)
	default:
		err = fmt.Errorf("unknown step %s", st.Kind)
	}
	return did, err
}

// killMidConfig starts a reconfiguration, the spare's addition if it is
// not in the chain or else a node's failure (kill -9), and kills the
// leading master leader right after (a node's failure: once the failure
// timeout has passed); after Hold both are started again.
func (c *Cluster) killMidConfig(ctx context.Context, st Step, v View, leader string) error {
	victim := ""
	if !slices.Contains(v.Members, spare) {
		if _, err := c.admin(ctx, "add-node", spare, spare+":7001"); err != nil {
			return err
		}
	} else {
		victim = v.Members[st.Target%len(v.Members)]
		if _, err := docker(ctx, "kill", "-s", "KILL", c.Name(victim)); err != nil {
			return err
		}
		sleep(ctx, c.FT+c.FT/10)
	}
	if _, err := docker(ctx, "kill", "-s", "KILL", c.Name(leader)); err != nil {
		return err
	}
	sleep(ctx, st.Hold)
	if _, err := docker(ctx, "start", c.Name(leader)); err != nil {
		return err
	}
	if victim != "" {
		_, err := docker(ctx, "start", c.Name(victim))
		return err
	}
	return nil
}

// applyAll carries out the steps that concern the whole cluster.
func (c *Cluster) applyAll(ctx context.Context, st Step, v View) (string, error) {
	if st.Kind == AddNode {
		if slices.Contains(v.Members, spare) {
			return fmt.Sprintf("%s: skipped, %s is a member", st, spare), nil
		}
		out, err := c.admin(ctx, "add-node", spare, spare+":7001")
		sleep(ctx, st.Hold)
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		return fmt.Sprintf("%s: %s", st, first), err
	}
	for _, p := range append(append(append([]string{}, masterNames...), nodeNames...), spare) {
		if _, err := docker(ctx, "restart", "-t", "5", c.Name(p)); err != nil {
			return st.String(), err
		}
		sleep(ctx, c.FT/2)
	}
	return st.String(), nil
}

// admin runs chainctl in the load container, as its admin.
func (c *Cluster) admin(ctx context.Context, args ...string) (string, error) {
	masters, _ := c.masterAddrs()
	base := []string{"exec", c.Name("load"), "chainctl", "-master", masters, "-tls-cert", "/pki/admin-load.pem",
		"-tls-key", "/pki/admin-load-key.pem", "-tls-ca", "/pki/ca.pem"}
	return docker(ctx, append(base, args...)...)
}
