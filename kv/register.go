package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/chainrep/chain"
)

// Names of the chain commands and queries a Store serves. The payloads
// and results use the binary encoding described in codec.go.
const (
	CmdPut    = "kv.put"    // put request -> empty result
	CmdDelete = "kv.delete" // key request -> flag result (existed)
	CmdCAS    = "kv.cas"    // cas request -> flag result (swapped)
	QueryGet  = "kv.get"    // key request -> get result
	QueryLen  = "kv.len"    // empty -> count result
)

// Register registers s's command handlers (CmdPut, CmdDelete, CmdCAS) and
// query handlers (QueryGet, QueryLen) on n. Call it before n.Start, on every
// node of the chain, each with its own Store. It fails if n is nil, already
// started, or already has a handler of one of these names; a node on which
// Register failed may have some handlers registered and should be
// discarded.
//
// The handlers are deterministic: their effect and result depend only on
// the Store's contents and the entry's payload. A payload that does not
// decode leaves the Store unchanged and makes the handler return an error
// wrapping ErrMalformed, which the client receives as an error wrapping
// chain.ErrCommandFailed.
func (s *Store) Register(n *chain.Node) error {
	if n == nil {
		return fmt.Errorf("kv: register: %w: nil node", chain.ErrInvalidArgument)
	}
	err := errors.Join(
		n.Handle(CmdPut, s.applyPut),
		n.Handle(CmdDelete, s.applyDelete),
		n.Handle(CmdCAS, s.applyCAS),
		n.HandleQuery(QueryGet, s.queryGet),
		n.HandleQuery(QueryLen, s.queryLen),
	)
	if err != nil {
		return fmt.Errorf("kv: register on node %q: %w", n.ID(), err)
	}
	return nil
}

func (s *Store) applyPut(_ context.Context, e chain.Entry) ([]byte, error) {
	req, err := decodePut(e.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CmdPut, err)
	}
	s.Put(req.Key, req.Value)
	return nil, nil
}

func (s *Store) applyDelete(_ context.Context, e chain.Entry) ([]byte, error) {
	key, err := decodeKey(e.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CmdDelete, err)
	}
	return encodeFlag(s.Delete(key)), nil
}

func (s *Store) applyCAS(_ context.Context, e chain.Entry) ([]byte, error) {
	req, err := decodeCAS(e.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CmdCAS, err)
	}
	return encodeFlag(s.CompareAndSet(req.Key, req.Expected, req.ExpectedFound, req.Value)), nil
}

func (s *Store) queryGet(_ context.Context, q []byte) ([]byte, error) {
	key, err := decodeKey(q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", QueryGet, err)
	}
	v, found := s.Get(key)
	return encodeGetResult(getResult{Value: v, Found: found}), nil
}

func (s *Store) queryLen(_ context.Context, q []byte) ([]byte, error) {
	if len(q) != 0 {
		return nil, fmt.Errorf("%s: %w: %d unexpected bytes", QueryLen, ErrMalformed, len(q))
	}
	return encodeCount(uint64(s.Len())), nil
}
