package faultsuite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/pebble"
)

// HealAll undoes every fault: it joins a cut link, connects, unpauses
// and starts every process, whatever state it is in (errors for what is
// already so are ignored).
func (c *Cluster) HealAll(ctx context.Context) {
	if err := c.healLink(ctx); err != nil {
		c.Logf("  heal the cut link: %v", err)
	}
	for _, p := range append(append(append([]string{}, masterNames...), nodeNames...), spare) {
		name := c.Name(p)
		_, _ = docker(ctx, "unpause", name)
		_, _ = docker(ctx, "network", "connect", "--ip", ip(p), "--alias", p, c.ID, name)
		_, _ = docker(ctx, "start", name)
	}
}

// StopNodes stops every node cleanly (SIGTERM, so Pebble is flushed).
func (c *Cluster) StopNodes(ctx context.Context) error {
	args := []string{"stop", "-t", "10"}
	for _, n := range append(append([]string{}, nodeNames...), spare) {
		args = append(args, c.Name(n))
	}
	_, err := docker(ctx, args...)
	return err
}

// ReadLog reads the whole Pebble log of a stopped node from its volume.
func (c *Cluster) ReadLog(node string) ([]Entry, error) {
	st, err := pebble.Open(filepath.Join(c.Dir, node, node))
	if err != nil {
		return nil, fmt.Errorf("open the log of %s: %w", node, err)
	}
	var out []Entry
	first, last := st.FirstOffset(), st.LastOffset()
	for from := first; from <= last && err == nil; {
		var ents []chain.Entry
		ents, err = st.Entries(from, last+1, 1<<20)
		for _, e := range ents {
			out = append(out, Entry{Command: e.Command, Data: e.Data})
		}
		from += uint64(len(ents))
	}
	err = errors.Join(err, st.Close())
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the log of %s: %w", node, err)
	case first > 1 && last >= first:
		return nil, fmt.Errorf("the log of %s starts at %d, not 1", node, first)
	}
	return out, nil
}
