package auth

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/wire"
)

// A Guard logs at most logBurst refusals in each logWindow: a flood of
// refused messages costs a few lines a second, and the next line says how
// many went unlogged.
const (
	logWindow = time.Second
	logBurst  = 10
)

// Guard enforces Authorize for one receiver: it counts refusals and logs
// them, one Warn line each, at most ten a second (the next line then
// says how many went unlogged). The zero Guard discards its log lines. A
// Guard is safe for concurrent use.
type Guard struct {
	// Log receives the refusals; nil discards them. Set it before use.
	Log *slog.Logger
	// Receiver names the receiver in log lines ("node n1", "master").
	Receiver string

	refused atomic.Uint64

	mu          sync.Mutex
	windowStart time.Time // start of the current logWindow
	logged      int       // lines logged in it
	unlogged    uint64    // refusals not logged since the last line
}

// Admit reports whether the receiver may act on msg, received from the
// address from with the verified identity peer (see Authorize). A refusal
// is counted and logged.
func (g *Guard) Admit(from string, msg wire.Message, peer *Identity) bool {
	err := Authorize(msg, peer)
	if err == nil {
		return true
	}
	// Counted once logged (or passed over by the rate limit): a reader
	// that sees the count finds the log line too.
	defer g.refused.Add(1)
	if g.Log == nil {
		return false
	}
	g.mu.Lock()
	now := time.Now()
	if now.Sub(g.windowStart) >= logWindow {
		g.windowStart, g.logged = now, 0
	}
	if g.logged >= logBurst {
		g.unlogged++
		g.mu.Unlock()
		return false
	}
	g.logged++
	skipped := g.unlogged
	g.unlogged = 0
	g.mu.Unlock()
	g.Log.Warn("refused message from unauthorized peer", "receiver", g.Receiver, "from", from,
		"peer", peer.String(), "err", err, "unlogged_before", skipped)
	return false
}

// Refused returns the number of messages the Guard refused.
func (g *Guard) Refused() uint64 { return g.refused.Load() }
