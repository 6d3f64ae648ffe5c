package chain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/storage/memory"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

// Compile-time checks: an option both constructors take satisfies both
// option types; the others satisfy only their own (checked at run time
// below, since a misplaced option does not compile).
var (
	_ chain.Option       = chain.WithTransport(nil)
	_ chain.NodeOption   = chain.WithStorage(nil)
	_ chain.ClientOption = chain.WithMaxInflight(1)
)

// TestEachOptionConfiguresWhatItIsFor pins which constructor each option
// belongs to: a node-only option is not a ClientOption (and so cannot be
// passed to NewClient, where it used to be silently ignored), and vice
// versa.
func TestEachOptionConfiguresWhatItIsFor(t *testing.T) {
	cases := []struct {
		name         string
		opt          any
		node, client bool
	}{
		{"WithTransport", chain.WithTransport(nil), true, true},
		{"WithConfig", chain.WithConfig(chain.Config{}), true, true},
		{"WithMaster", chain.WithMaster("m"), true, true},
		{"WithChain", chain.WithChain("c"), true, true},
		{"WithMaxBatchBytes", chain.WithMaxBatchBytes(1), true, true},
		{"WithStorage", chain.WithStorage(nil), true, false},
		{"WithLogger", chain.WithLogger(nil), true, true},
		{"WithMaxEntrySize", chain.WithMaxEntrySize(1), true, true},
		{"WithMaxInflightBytes", chain.WithMaxInflightBytes(1), true, false},
		{"WithMaxPendingWrites", chain.WithMaxPendingWrites(1), true, false},
		{"WithPollInterval", chain.WithPollInterval(time.Second), true, false},
		{"WithQueryWorkers", chain.WithQueryWorkers(1), true, false},
		{"WithMaxSessions", chain.WithMaxSessions(1), true, false},
		{"WithAddr", chain.WithAddr("a"), true, false},
		{"WithApplyObserver", chain.WithApplyObserver(nil), true, false},
		{"WithRetryInterval", chain.WithRetryInterval(time.Millisecond, time.Second), false, true},
		{"WithMaxInflight", chain.WithMaxInflight(1), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, node := tc.opt.(chain.NodeOption)
			_, client := tc.opt.(chain.ClientOption)
			require.Equal(t, tc.node, node, "is a NodeOption")
			require.Equal(t, tc.client, client, "is a ClientOption")
		})
	}
}

// TestOptionsAreValidatedByTheirConstructor: each constructor rejects bad
// values of its own settings with ErrInvalidConfig, and a client is not
// held to rules of node settings it does not have.
func TestOptionsAreValidatedByTheirConstructor(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "a", Addr: "a"}}}
	st := memory.New()
	defer st.Close()
	node := func(opts ...chain.NodeOption) error {
		_, err := chain.NewNode("a", append([]chain.NodeOption{chain.WithTransport(net), chain.WithStorage(st), chain.WithConfig(cfg)}, opts...)...)
		return err
	}
	client := func(opts ...chain.ClientOption) error {
		c, err := chain.NewClient(append([]chain.ClientOption{chain.WithTransport(net), chain.WithConfig(cfg)}, opts...)...)
		if err == nil {
			require.NoError(t, c.Close())
		}
		return err
	}

	for name, err := range map[string]error{
		"node: nil logger":                     node(chain.WithLogger(nil)),
		"client: nil logger":                   client(chain.WithLogger(nil)),
		"node: batch below entry size":         node(chain.WithMaxEntrySize(2048), chain.WithMaxBatchBytes(1024)),
		"node: zero max sessions":              node(chain.WithMaxSessions(0)),
		"node: zero poll interval":             node(chain.WithPollInterval(0)),
		"node: empty master address":           node(chain.WithMaster("")),
		"client: zero batch bytes":             client(chain.WithMaxBatchBytes(0)),
		"client: zero max entry size":          client(chain.WithMaxEntrySize(0)),
		"client: zero retry interval":          client(chain.WithRetryInterval(0, time.Second)),
		"client: max retry below first":        client(chain.WithRetryInterval(time.Second, time.Millisecond)),
		"client: zero max in-flight":           client(chain.WithMaxInflight(0)),
		"client: empty master address":         client(chain.WithMaster("m", "")),
		"client: batch above half message max": client(chain.WithMaxBatchBytes(wire.MaxMessageSize)),
	} {
		require.ErrorIs(t, err, chain.ErrInvalidConfig, name)
	}

	// A client's batch bytes need not cover a node's max entry size.
	require.NoError(t, client(chain.WithMaxBatchBytes(4096)))
}
