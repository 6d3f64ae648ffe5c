package kv

import (
	"context"
	"fmt"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/partition"
)

// Client is a typed key-value client over one chain (NewClient) or over
// the many chains of a partitioned cluster (NewPartitionedClient), where
// each key lives on the chain of its slot. Writes run as chain commands
// at the head and are applied exactly once; reads run as chain queries at
// the tail and see every write acknowledged before they were called. A
// Client is safe for concurrent use.
//
// Errors wrap those of the chain client (check them with errors.Is against
// chain's sentinels and the context errors). A key that is empty or longer
// than MaxKeyLen is refused locally with an error wrapping
// chain.ErrInvalidArgument.
type Client struct {
	r router
}

// router sends a key's commands and queries to the chain that holds it.
type router interface {
	do(ctx context.Context, key, name string, data []byte) ([]byte, error)
	query(ctx context.Context, key, name string, data []byte) ([]byte, error)
	// chains returns a client of every chain, for requests about all keys.
	chains(ctx context.Context) ([]*chain.Client, error)
}

// NewClient returns a Client that sends its requests through c. The caller
// keeps ownership of c and closes it.
func NewClient(c *chain.Client) *Client {
	return &Client{r: oneChain{c}}
}

// NewPartitionedClient returns a Client of a partitioned cluster whose
// servers register a Store on every replica: each key's requests go to
// the chain of its slot. The caller keeps ownership of p and closes it.
func NewPartitionedClient(p *partition.Client) *Client {
	return &Client{r: manyChains{p}}
}

type oneChain struct{ c *chain.Client }

func (o oneChain) do(ctx context.Context, _, name string, data []byte) ([]byte, error) {
	return o.c.Do(ctx, name, data)
}

func (o oneChain) query(ctx context.Context, _, name string, data []byte) ([]byte, error) {
	return o.c.Query(ctx, name, data)
}

func (o oneChain) chains(context.Context) ([]*chain.Client, error) { return []*chain.Client{o.c}, nil }

type manyChains struct{ p *partition.Client }

func (m manyChains) do(ctx context.Context, key, name string, data []byte) ([]byte, error) {
	return m.p.Do(ctx, []byte(key), name, data)
}

func (m manyChains) query(ctx context.Context, key, name string, data []byte) ([]byte, error) {
	return m.p.Query(ctx, []byte(key), name, data)
}

func (m manyChains) chains(ctx context.Context) ([]*chain.Client, error) {
	layout, err := m.p.Layout(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*chain.Client, 0, len(layout.Chains))
	for _, ch := range layout.Chains {
		c, err := m.p.Chain(ctx, ch.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Put sets key to value.
func (c *Client) Put(ctx context.Context, key string, value []byte) error {
	if err := validKey("put", key); err != nil {
		return err
	}
	if _, err := c.r.do(ctx, key, CmdPut, encodePut(putRequest{Key: key, Value: value})); err != nil {
		return fmt.Errorf("kv: put %q: %w", key, err)
	}
	return nil
}

// Get returns key's value and whether key is present.
func (c *Client) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	if err := validKey("get", key); err != nil {
		return nil, false, err
	}
	out, err := c.r.query(ctx, key, QueryGet, encodeKey(key))
	if err != nil {
		return nil, false, fmt.Errorf("kv: get %q: %w", key, err)
	}
	res, err := decodeGetResult(out)
	if err != nil {
		return nil, false, fmt.Errorf("kv: get %q: %w", key, err)
	}
	return res.Value, res.Found, nil
}

// Delete removes key and reports whether it was present.
func (c *Client) Delete(ctx context.Context, key string) (existed bool, err error) {
	if err := validKey("delete", key); err != nil {
		return false, err
	}
	return c.flagCommand(ctx, "delete", key, CmdDelete, encodeKey(key))
}

// CompareAndSet sets key to value if and only if key's presence equals
// expectedFound and, when present, its value equals expected (expected is
// ignored when expectedFound is false). It reports whether it set the
// value; the comparison and the write are one atomic step of the chain.
func (c *Client) CompareAndSet(ctx context.Context, key string, expected []byte, expectedFound bool, value []byte) (swapped bool, err error) {
	if err := validKey("cas", key); err != nil {
		return false, err
	}
	req := casRequest{Key: key, Expected: expected, ExpectedFound: expectedFound, Value: value}
	return c.flagCommand(ctx, "cas", key, CmdCAS, encodeCAS(req))
}

// Len returns the number of keys in the store. Over many chains it is
// the sum of each chain's count, each read at its own moment: exact only
// while no writes run.
func (c *Client) Len(ctx context.Context) (int, error) {
	chains, err := c.r.chains(ctx)
	if err != nil {
		return 0, fmt.Errorf("kv: len: %w", err)
	}
	total := 0
	for _, ch := range chains {
		out, err := ch.Query(ctx, QueryLen, nil)
		if err != nil {
			return 0, fmt.Errorf("kv: len: %w", err)
		}
		n, err := decodeCount(out)
		if err != nil {
			return 0, fmt.Errorf("kv: len: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// flagCommand runs a command whose result is a flag.
func (c *Client) flagCommand(ctx context.Context, op, key, cmd string, payload []byte) (bool, error) {
	out, err := c.r.do(ctx, key, cmd, payload)
	if err != nil {
		return false, fmt.Errorf("kv: %s %q: %w", op, key, err)
	}
	v, err := decodeFlag(out)
	if err != nil {
		return false, fmt.Errorf("kv: %s %q: %w", op, key, err)
	}
	return v, nil
}

// validKey returns an error wrapping chain.ErrInvalidArgument if key is
// not a valid key.
func validKey(op, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("kv: %s: %w: %w", op, chain.ErrInvalidArgument, err)
	}
	return nil
}
