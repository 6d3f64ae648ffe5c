package kv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
)

func newUnstartedNode(t *testing.T) *chain.Node {
	t.Helper()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	n, err := chain.NewNode("n1", chain.WithTransport(inmem.New(inmem.Options{})),
		chain.WithStorage(memory.New()), chain.WithConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func TestRegister(t *testing.T) {
	n := newUnstartedNode(t)
	require.NoError(t, New().Register(n))
	err := New().Register(n)
	require.ErrorIs(t, err, chain.ErrInvalidArgument, "handlers registered twice")
	require.ErrorIs(t, New().Register(nil), chain.ErrInvalidArgument)
}

func TestHandlersApply(t *testing.T) {
	ctx := context.Background()
	s := New()
	out, err := s.applyPut(ctx, chain.Entry{Data: encodePut(putRequest{Key: "k", Value: []byte("v")})})
	require.NoError(t, err)
	require.Empty(t, out)

	out, err = s.queryGet(ctx, encodeKey("k"))
	require.NoError(t, err)
	require.Equal(t, encodeGetResult(getResult{Found: true, Value: []byte("v")}), out)

	out, err = s.applyCAS(ctx, chain.Entry{Data: encodeCAS(casRequest{Key: "k", Expected: []byte("v"), ExpectedFound: true, Value: []byte("w")})})
	require.NoError(t, err)
	require.Equal(t, encodeFlag(true), out)

	out, err = s.queryLen(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, encodeCount(1), out)

	out, err = s.applyDelete(ctx, chain.Entry{Data: encodeKey("k")})
	require.NoError(t, err)
	require.Equal(t, encodeFlag(true), out)
	out, err = s.applyDelete(ctx, chain.Entry{Data: encodeKey("k")})
	require.NoError(t, err)
	require.Equal(t, encodeFlag(false), out)
}

func TestHandlersRejectMalformed(t *testing.T) {
	ctx := context.Background()
	s := New()
	s.Put("k", []byte("v"))
	want := s.Snapshot()
	junk := []byte{0xff, 0xff, 0xff}

	commands := map[string]chain.CommandHandler{CmdPut: s.applyPut, CmdDelete: s.applyDelete, CmdCAS: s.applyCAS}
	for name, h := range commands {
		for _, data := range [][]byte{nil, junk, {0}, append(encodeKey("k"), 9)} {
			out, err := h(ctx, chain.Entry{Command: name, Data: data})
			require.ErrorIs(t, err, ErrMalformed, "%s %x", name, data)
			require.ErrorContains(t, err, name)
			require.Nil(t, out)
		}
	}
	_, err := s.queryGet(ctx, junk)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = s.queryLen(ctx, junk)
	require.ErrorIs(t, err, ErrMalformed)
	require.Equal(t, want, s.Snapshot(), "malformed commands change nothing")
}
