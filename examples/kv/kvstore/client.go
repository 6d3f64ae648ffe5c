package kvstore

import (
	"context"
	"fmt"

	"github.com/chainrep/chain"
)

// Client is a typed key-value client over a *chain.Client. Writes run as
// chain commands at the head and are applied exactly once; reads run as
// chain queries at the tail and see every write acknowledged before they
// were called. A Client is safe for concurrent use.
//
// Errors wrap those of the chain client (check them with errors.Is against
// chain's sentinels and the context errors). A key that is empty or longer
// than MaxKeyLen is refused locally with an error wrapping
// chain.ErrInvalidArgument.
type Client struct {
	c *chain.Client
}

// NewClient returns a Client that sends its requests through c. The caller
// keeps ownership of c and closes it.
func NewClient(c *chain.Client) *Client {
	return &Client{c: c}
}

// Put sets key to value.
func (c *Client) Put(ctx context.Context, key string, value []byte) error {
	if err := validKey("put", key); err != nil {
		return err
	}
	if _, err := c.c.Do(ctx, CmdPut, encodePut(putRequest{Key: key, Value: value})); err != nil {
		return fmt.Errorf("kvstore: put %q: %w", key, err)
	}
	return nil
}

// Get returns key's value and whether key is present.
func (c *Client) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	if err := validKey("get", key); err != nil {
		return nil, false, err
	}
	out, err := c.c.Query(ctx, QueryGet, encodeKey(key))
	if err != nil {
		return nil, false, fmt.Errorf("kvstore: get %q: %w", key, err)
	}
	res, err := decodeGetResult(out)
	if err != nil {
		return nil, false, fmt.Errorf("kvstore: get %q: %w", key, err)
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

// Len returns the number of keys in the store.
func (c *Client) Len(ctx context.Context) (int, error) {
	out, err := c.c.Query(ctx, QueryLen, nil)
	if err != nil {
		return 0, fmt.Errorf("kvstore: len: %w", err)
	}
	n, err := decodeCount(out)
	if err != nil {
		return 0, fmt.Errorf("kvstore: len: %w", err)
	}
	return int(n), nil
}

// flagCommand runs a command whose result is a flag.
func (c *Client) flagCommand(ctx context.Context, op, key, cmd string, payload []byte) (bool, error) {
	out, err := c.c.Do(ctx, cmd, payload)
	if err != nil {
		return false, fmt.Errorf("kvstore: %s %q: %w", op, key, err)
	}
	v, err := decodeFlag(out)
	if err != nil {
		return false, fmt.Errorf("kvstore: %s %q: %w", op, key, err)
	}
	return v, nil
}

// validKey returns an error wrapping chain.ErrInvalidArgument if key is
// not a valid key.
func validKey(op, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("kvstore: %s: %w: %w", op, chain.ErrInvalidArgument, err)
	}
	return nil
}
