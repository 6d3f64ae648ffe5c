package inmem

import (
	"fmt"
	"math"
	"time"

	"github.com/chainrep/chain"
)

// Default durations for Faults.
const (
	DefaultMaxDelay      = 5 * time.Millisecond
	DefaultReorderWindow = time.Millisecond
)

// Faults are random faults applied to every message that is not cut off by
// a partition. Each probability is in [0, 1] and is drawn independently per
// message.
type Faults struct {
	// Drop is the probability that a message is lost.
	Drop float64
	// Duplicate is the probability that a message that is not dropped is
	// delivered twice.
	Duplicate float64
	// Delay is the probability that a copy is delivered after a random
	// duration in (0, MaxDelay].
	Delay float64
	// Reorder is the probability that a copy not delayed by Delay is
	// delivered after a random duration in (0, ReorderWindow], so that
	// messages sent after it may overtake it.
	Reorder float64
	// MaxDelay bounds the delay of Delay. Zero means DefaultMaxDelay.
	MaxDelay time.Duration
	// MinDelay is the least delay of Delay, at most MaxDelay; zero by
	// default. MinDelay equal to MaxDelay delays every delayed copy by
	// exactly that.
	MinDelay time.Duration
	// ReorderWindow bounds the delay of Reorder. Zero means
	// DefaultReorderWindow.
	ReorderWindow time.Duration
}

// validate checks f and fills in default durations.
func (f Faults) validate() (Faults, error) {
	probs := []struct {
		name string
		p    float64
	}{{"Drop", f.Drop}, {"Duplicate", f.Duplicate}, {"Delay", f.Delay}, {"Reorder", f.Reorder}}
	for _, p := range probs {
		if math.IsNaN(p.p) || p.p < 0 || p.p > 1 {
			return f, fmt.Errorf("inmem: faults: %w: %s probability %v outside [0, 1]", chain.ErrInvalidArgument, p.name, p.p)
		}
	}
	if f.MaxDelay < 0 {
		return f, fmt.Errorf("inmem: faults: %w: negative MaxDelay %v", chain.ErrInvalidArgument, f.MaxDelay)
	}
	if f.MinDelay < 0 {
		return f, fmt.Errorf("inmem: faults: %w: negative MinDelay %v", chain.ErrInvalidArgument, f.MinDelay)
	}
	if f.ReorderWindow < 0 {
		return f, fmt.Errorf("inmem: faults: %w: negative ReorderWindow %v", chain.ErrInvalidArgument, f.ReorderWindow)
	}
	if f.MaxDelay == 0 {
		f.MaxDelay = DefaultMaxDelay
	}
	if f.ReorderWindow == 0 {
		f.ReorderWindow = DefaultReorderWindow
	}
	if f.MinDelay > f.MaxDelay {
		return f, fmt.Errorf("inmem: faults: %w: MinDelay %v above MaxDelay %v", chain.ErrInvalidArgument, f.MinDelay, f.MaxDelay)
	}
	return f, nil
}

// SetFaults replaces the faults applied to messages sent from now on. It
// returns an error wrapping chain.ErrInvalidArgument, and changes nothing,
// if a probability is outside [0, 1] or a duration is negative. Messages
// already delayed keep their delay.
func (n *Network) SetFaults(f Faults) error {
	f, err := f.validate()
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = f
	return nil
}

// ClearFaults stops injecting faults into messages sent from now on.
func (n *Network) ClearFaults() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = Faults{}
}

// decideLocked draws the faults f for one message and returns the copies
// to deliver: none if it is dropped, two if duplicated. Random numbers are
// drawn in a fixed order, and only for faults with a non-zero probability,
// so decisions are reproducible for a given seed, faults and message order.
// n.mu must be held.
func (n *Network) decideLocked(f *Faults) []delivery {
	if n.chance(f.Drop) {
		return nil
	}
	copies := 1
	if n.chance(f.Duplicate) {
		copies = 2
	}
	out := make([]delivery, copies)
	for i := range out {
		switch {
		case n.chance(f.Delay):
			out[i].delay = f.MinDelay + n.duration(f.MaxDelay-f.MinDelay)
		case n.chance(f.Reorder):
			out[i].delay = n.duration(f.ReorderWindow)
		}
	}
	return out
}

// chance reports true with probability p, drawing only if 0 < p.
func (n *Network) chance(p float64) bool {
	return p > 0 && n.rng.Float64() < p
}

// duration returns a random duration in (0, limit], or zero when limit is
// not positive (drawing nothing).
func (n *Network) duration(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return time.Duration(n.rng.Int64N(int64(limit))) + 1
}
