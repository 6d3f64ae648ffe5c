package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
)

// MasterConfig describes the configuration master a program runs.
type MasterConfig struct {
	// Addr is where the master listens.
	Addr string
	// Config is the chain's initial configuration.
	Config    chain.Config
	Transport chain.Transport
	// FailureTimeout is how long a node may stay silent before the master
	// removes it; zero means master.DefaultFailureTimeout.
	FailureTimeout time.Duration
	Logger         *slog.Logger
}

// StartMaster starts a configuration master.
func StartMaster(mc MasterConfig) (*master.Master, error) {
	logger := mc.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := master.Start(master.Options{
		Transport: mc.Transport, Addr: mc.Addr, Config: mc.Config,
		FailureTimeout: mc.FailureTimeout, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// askInterval is how often FetchConfig and Admin repeat an unanswered
// request: a transport may drop a message, for instance while it connects.
const askInterval = 500 * time.Millisecond

// ErrNoMaster is returned when the master does not answer in time.
var ErrNoMaster = errors.New("no answer from the master")

// FetchConfig asks the master at addr for the chain's current
// configuration, over tr, until it answers or ctx ends.
func FetchConfig(ctx context.Context, tr chain.Transport, addr string) (chain.Config, error) {
	id := rand.Uint64()
	var cfg chain.Config
	err := ask(ctx, tr, addr, &chain.ConfigRequest{ID: id}, true, func(msg chain.Message) bool {
		u, ok := msg.(*chain.ConfigUpdate)
		if ok && u.ID == id {
			cfg = u.Config
		}
		return ok && u.ID == id
	})
	if err != nil {
		return chain.Config{}, fmt.Errorf("configuration from the master at %s: %w", addr, err)
	}
	return cfg, nil
}

// Admin sends req to the master at addr over tr and returns its answer,
// or an error if none came before ctx ended. The answer's Err, if any, is
// returned as the error (a *chain.RemoteError), with the answer.
//
// An add is sent again while unanswered (adding twice is adding once); a
// removal is sent once, as a second one would fail with "unknown node"
// if the first was applied.
func Admin(ctx context.Context, tr chain.Transport, addr string, req *chain.AdminRequest) (*chain.AdminResponse, error) {
	r := *req
	r.ID = rand.Uint64()
	var resp *chain.AdminResponse
	err := ask(ctx, tr, addr, &r, r.Op == chain.AdminAddNode, func(msg chain.Message) bool {
		a, ok := msg.(*chain.AdminResponse)
		if ok && a.ID == r.ID {
			resp = a
		}
		return ok && a.ID == r.ID
	})
	if err != nil {
		return nil, fmt.Errorf("admin request to the master at %s: %w", addr, err)
	}
	if resp.Err != nil {
		return resp, resp.Err
	}
	return resp, nil
}

// ask sends req to addr from a fresh client endpoint, again every
// askInterval if repeat, until match accepts a message from addr or ctx
// ends.
func ask(ctx context.Context, tr chain.Transport, addr string, req chain.Message, repeat bool, match func(chain.Message) bool) error {
	if addr == "" {
		return fmt.Errorf("%w: no master address", chain.ErrInvalidArgument)
	}
	ep, err := tr.Listen("")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ep.Close()
	timer := time.NewTimer(0)
	defer timer.Stop()
	sent := false
	for {
		select {
		case <-timer.C:
			if sent && !repeat {
				continue
			}
			if err := ep.Send(ctx, addr, req); err != nil && ctx.Err() == nil {
				return fmt.Errorf("send: %w", err)
			}
			sent = true
			timer.Reset(askInterval)
		case in, ok := <-ep.Receive():
			if !ok {
				return chain.ErrClosed
			}
			if in.From == addr && match(in.Msg) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoMaster, ctx.Err())
		}
	}
}
