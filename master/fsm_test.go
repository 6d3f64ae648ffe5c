package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

func applyCmd(t *testing.T, f *fsm, base uint64, d durable) applied {
	t.Helper()
	b, err := json.Marshal(command{Base: base, State: d})
	require.NoError(t, err)
	res, ok := f.Apply(&raft.Log{Data: b}).(applied)
	require.True(t, ok)
	return res
}

func TestFSMIsCompareAndSet(t *testing.T) {
	f := &fsm{}
	cfg := func(epoch uint64, ids ...string) chain.Config {
		return chain.Config{Epoch: epoch, Members: members(ids...)}
	}
	require.NoError(t, applyCmd(t, f, 0, single(chainDurable{Config: cfg(5, "a", "b", "c"), Target: 3})).err) // initial
	// The next epoch applies; the same epoch again, a skipped one, or one
	// decided on an older version do not.
	require.NoError(t, applyCmd(t, f, 1, single(chainDurable{Config: cfg(6, "a", "c"), Target: 3})).err)
	for _, c := range []struct {
		base uint64
		d    durable
	}{
		{2, single(chainDurable{Config: cfg(6, "a"), Target: 3})},      // same epoch, other members
		{2, single(chainDurable{Config: cfg(8, "a"), Target: 3})},      // skips an epoch
		{1, single(chainDurable{Config: cfg(7, "a"), Target: 3})},      // decided on version 1
		{2, single(chainDurable{Config: cfg(5, "a", "b"), Target: 3})}, // goes back
		{2, single(chainDurable{Config: chain.Config{Epoch: 7}})},      // invalid
	} {
		res := applyCmd(t, f, c.base, c.d)
		require.True(t, errors.Is(res.err, errConflict), "%+v applied: %v", c, res.err)
		require.Equal(t, uint64(2), res.ver)
	}
	// Standby nodes and target change without a new epoch.
	res := applyCmd(t, f, 2, single(chainDurable{Config: cfg(6, "a", "c"), Standby: members("d"), Target: 4}))
	require.NoError(t, res.err)
	require.Equal(t, uint64(3), res.ver)

	// A snapshot restores the same state.
	snap, err := f.Snapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, snap.Persist(&sink{Buffer: &buf}))
	g := &fsm{}
	require.NoError(t, g.Restore(io.NopCloser(&buf)))
	d1, v1 := f.current()
	d2, v2 := g.current()
	require.Equal(t, v1, v2)
	require.True(t, d1.equal(d2))
}

type sink struct{ *bytes.Buffer }

func (*sink) ID() string    { return "test" }
func (*sink) Cancel() error { return nil }
func (*sink) Close() error  { return nil }
