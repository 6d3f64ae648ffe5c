package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

// durable is the master's replicated state: what every master of a group
// holds and what survives the loss of the raft leader. Liveness (when each
// node and server was last heard from) is not part of it: it stays in the
// leader's memory.
type durable struct {
	// Chains are the chains the master manages, in slot order: one, with
	// id "", for a master of a single chain.
	Chains []chainDurable `json:"chains,omitempty"`
	// Servers are the servers of a partitioned cluster that have ever
	// reported, sorted by id.
	Servers []serverRecord `json:"servers,omitempty"`
	// Plan is the shape of a partitioned cluster (zero for one chain).
	Plan plan `json:"plan,omitzero"`
	// Moves are the replicas being moved to even out the servers' load.
	Moves []move `json:"moves,omitempty"`
}

// chainDurable is the replicated state of one chain.
type chainDurable struct {
	ID      string         `json:"id,omitempty"`
	SlotLo  uint32         `json:"lo,omitempty"`
	SlotHi  uint32         `json:"hi,omitempty"`
	Config  chain.Config   `json:"config"`
	Standby []chain.Member `json:"standby,omitempty"` // sorted by id
	Target  int            `json:"target"`
	// Handoff is the new tail that has not yet reported holding every
	// committed entry; empty when none.
	Handoff handoff `json:"handoff,omitzero"`
	// Incarnations are the storage incarnations recorded for the
	// configured nodes (see state.incarnations).
	Incarnations map[string]uint64 `json:"incarnations,omitempty"`
	// Removed are the nodes removed for good (see state.removed), sorted.
	Removed []string `json:"removed,omitempty"`
}

// handoff names a node promoted from joining to tail at Epoch, which must
// catch up with its predecessor before it holds every committed entry
// (the tail handoff). Until it reports so, in a heartbeat at Epoch or
// later, it is the one member that is not complete.
type handoff struct {
	ID    string `json:"id,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
}

// single returns the durable state of a master of one chain.
func single(c chainDurable) durable {
	c.SlotLo, c.SlotHi = 0, wire.Slots
	return durable{Chains: []chainDurable{c}}
}

// chain returns the chain with the given id.
func (d durable) chain(id string) (chainDurable, bool) {
	for _, c := range d.Chains {
		if c.ID == id {
			return c, true
		}
	}
	return chainDurable{}, false
}

func (d durable) encode() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("master: encode state: %v", err)) // plain data: cannot fail
	}
	return b
}

func (d durable) equal(o durable) bool { return bytes.Equal(d.encode(), o.encode()) }

// command is one raft log entry: the durable state the leader decided on,
// proposed on top of the state at version Base (the number of commands
// the FSM had applied when the leader decided).
type command struct {
	Base  uint64  `json:"base"`
	State durable `json:"state"`
	// Adopt lets a chain's epoch rise by more than one: the leader
	// adopted a configuration the nodes reported (see state.adopt).
	Adopt bool `json:"adopt,omitempty"`
}

// errConflict is the FSM's refusal of a command that was not decided on
// its current state: an older leader's proposal, or a configuration whose
// epoch is not exactly the next one.
var errConflict = errors.New("master: conflicting configuration change")

// applied is what fsm.Apply returns: the version after the command, or why
// it was refused.
type applied struct {
	ver uint64
	err error
}

// fsm is the raft state machine of the master group. Apply is
// compare-and-set: a command applies only on the version it was decided
// on, and only if its configuration is the current one or has exactly the
// next epoch (the first command sets the initial configuration). So a
// committed configuration is never lost with a leader, and no two
// configurations share an epoch.
type fsm struct {
	mu  sync.Mutex
	ver uint64
	st  durable
}

// current returns the applied state and its version.
func (f *fsm) current() (durable, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.clone(), f.ver
}

func (d durable) clone() durable {
	d.Chains = slices.Clone(d.Chains)
	for i := range d.Chains {
		d.Chains[i].Config = d.Chains[i].Config.Clone()
		d.Chains[i].Standby = slices.Clone(d.Chains[i].Standby)
		d.Chains[i].Incarnations = maps.Clone(d.Chains[i].Incarnations)
		d.Chains[i].Removed = slices.Clone(d.Chains[i].Removed)
	}
	d.Servers = slices.Clone(d.Servers)
	d.Moves = slices.Clone(d.Moves)
	return d
}

// check reports whether next may follow cur: the same chains (any set of
// chains may follow none), each with a valid configuration that is the
// current one or has exactly the next epoch (with adopt, any higher one).
func check(cur, next durable, adopt bool) error {
	if len(cur.Chains) > 0 && len(next.Chains) != len(cur.Chains) {
		return fmt.Errorf("%w: %d chains after %d", errConflict, len(next.Chains), len(cur.Chains))
	}
	for i, nc := range next.Chains {
		if err := nc.Config.Validate(); err != nil {
			return fmt.Errorf("%w: chain %q: %v", errConflict, nc.ID, err)
		}
		if len(cur.Chains) == 0 {
			continue // the initial chains
		}
		cc := cur.Chains[i]
		switch {
		case nc.ID != cc.ID:
			return fmt.Errorf("%w: chain %q in place of %q", errConflict, nc.ID, cc.ID)
		case nc.Config.Epoch == cc.Config.Epoch+1, adopt && nc.Config.Epoch > cc.Config.Epoch:
		case nc.Config.Epoch == cc.Config.Epoch && (durable{Chains: []chainDurable{{Config: nc.Config}}}).equal(durable{Chains: []chainDurable{{Config: cc.Config}}}):
			// standby nodes, target length or handoff only
		default:
			return fmt.Errorf("%w: chain %q: epoch %d after %d", errConflict, nc.ID, nc.Config.Epoch, cc.Config.Epoch)
		}
	}
	return nil
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return applied{err: fmt.Errorf("master: decode command: %w", err)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Base != f.ver {
		return applied{ver: f.ver, err: fmt.Errorf("%w: decided at version %d, now %d", errConflict, c.Base, f.ver)}
	}
	if err := check(f.st, c.State, c.Adopt); err != nil {
		return applied{ver: f.ver, err: err}
	}
	f.ver++
	f.st = c.State
	return applied{ver: f.ver}
}

// snapshotData is the encoded FSM.
type snapshotData struct {
	Ver   uint64  `json:"ver"`
	State durable `json:"state"`
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := json.Marshal(snapshotData{Ver: f.ver, State: f.st})
	if err != nil {
		return nil, fmt.Errorf("master: snapshot: %w", err)
	}
	return fsmSnapshot(b), nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	var s snapshotData
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("master: restore snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ver, f.st = s.Ver, s.State
	return nil
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("master: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}

// durable returns the replicated part of s.
func (s *state) durable() chainDurable {
	d := chainDurable{ID: s.id, SlotLo: s.slotLo, SlotHi: s.slotHi, Config: s.cfg.Clone(), Target: s.target, Handoff: s.handoff}
	for _, m := range s.standby {
		d.Standby = append(d.Standby, m)
	}
	slices.SortFunc(d.Standby, func(a, b chain.Member) int { return strings.Compare(a.ID, b.ID) })
	for id := range s.removed {
		d.Removed = append(d.Removed, id)
	}
	slices.Sort(d.Removed)
	for _, id := range s.configured() {
		if inc := s.incarnations[id]; inc != 0 {
			if d.Incarnations == nil {
				d.Incarnations = make(map[string]uint64)
			}
			d.Incarnations[id] = inc
		}
	}
	return d
}

// load replaces the replicated part of s with d and keeps what heartbeats
// said. Configured nodes s has not heard from get until now+timeout.
func (s *state) load(d chainDurable, now time.Time) {
	s.id, s.slotLo, s.slotHi = d.ID, d.SlotLo, d.SlotHi
	s.cfg = d.Config.Clone()
	s.target = d.Target
	s.handoff = d.Handoff
	s.standby = make(map[string]chain.Member, len(d.Standby))
	for _, m := range d.Standby {
		s.standby[m.ID] = m
	}
	s.incarnations = maps.Clone(d.Incarnations)
	if s.incarnations == nil {
		s.incarnations = make(map[string]uint64)
	}
	s.removed = make(map[string]bool, len(d.Removed))
	for _, id := range d.Removed {
		s.removed[id] = true
	}
	s.adopted = false
	for _, id := range s.configured() {
		if s.nodes[id] == nil {
			s.nodes[id] = &nodeState{lastSeen: now}
		}
	}
}

// restoreState is the state of a chain at a newly elected leader: the
// replicated state d, and every configured node given a full failure
// timeout from now before its silence counts.
func restoreState(d chainDurable, timeout time.Duration, now time.Time) *state {
	s := newState(d.Config, timeout, now)
	s.load(d, now)
	if j := d.Config.Joining; j != nil {
		s.nodes[j.ID].addr = j.Addr
	}
	return s
}
