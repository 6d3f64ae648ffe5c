package auth

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/wire"
)

// logEvery bounds how often a Guard logs: a peer sending a flood of
// refused messages gets a line a second, with the count of the others.
const logEvery = time.Second

// Guard enforces Authorize for one receiver: it counts refusals and logs
// them, one Warn line each, at most one a second (the line then says how
// many were refused since the last). The zero Guard discards its log
// lines. A Guard is safe for concurrent use.
type Guard struct {
	// Log receives the refusals; nil discards them. Set it before use.
	Log *slog.Logger
	// Receiver names the receiver in log lines ("node n1", "master").
	Receiver string

	refused atomic.Uint64

	mu         sync.Mutex
	lastLogged time.Time
	unlogged   uint64
}

// Admit reports whether the receiver may act on msg, received from the
// address from with the verified identity peer (see Authorize). A refusal
// is counted and logged.
func (g *Guard) Admit(from string, msg wire.Message, peer *Identity) bool {
	err := Authorize(msg, peer)
	if err == nil {
		return true
	}
	g.refused.Add(1)
	if g.Log == nil {
		return false
	}
	g.mu.Lock()
	now := time.Now()
	if now.Sub(g.lastLogged) < logEvery {
		g.unlogged++
		g.mu.Unlock()
		return false
	}
	g.lastLogged = now
	skipped := g.unlogged
	g.unlogged = 0
	g.mu.Unlock()
	g.Log.Warn("refused message from unauthorized peer", "receiver", g.Receiver, "from", from,
		"peer", peer.String(), "err", err, "refused_since_last_line", skipped)
	return false
}

// Refused returns the number of messages the Guard refused.
func (g *Guard) Refused() uint64 { return g.refused.Load() }
