package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/internal/flagvalue"
	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/tcp"
)

func TestMain(m *testing.M) {
	if os.Getenv(holdLockEnv) != "" {
		holdLock()
	}
	goleak.VerifyTestMain(m)
}

// TestNodesServeAndRestartFromTheirData runs three chaind nodes (as three run calls,
// each with its own transport, as separate processes would), writes through
// them, stops them, restarts them on their Pebble data, and reads back.
func TestNodesServeAndRestartFromTheirData(t *testing.T) {
	members, err := launch.FreeLocalMembers(3)
	require.NoError(t, err)
	list := flagvalue.FormatMembers(members)
	data := t.TempDir()

	start := func() (stop func(), outs []*testutil.SyncBuffer) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, m := range members {
			out := &testutil.SyncBuffer{}
			outs = append(outs, out)
			wg.Go(func() {
				if err := run(ctx, []string{"-id", m.ID, "-members", list, "-data", data, "-log-level", "error"}, out); err != nil {
					t.Errorf("chaind %s: %v", m.ID, err)
				}
			})
		}
		return func() { cancel(); wg.Wait() }, outs
	}

	stop, outs := start()
	for _, out := range outs {
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "reach the chain") }, 10*time.Second, 5*time.Millisecond)
	}
	require.Contains(t, outs[0].String(), "node n1 (head) listening on "+members[0].Addr+", on Pebble under "+data)
	require.Contains(t, outs[0].String(), "chainctl -members "+list)

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	client, err := chain.NewClient(chain.WithTransport(tr), chain.WithConfig(chain.Config{Epoch: 1, Members: members}))
	require.NoError(t, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 20 {
		off, err := client.Append(ctx, []byte{byte(i)})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), off)
	}
	stop()
	require.Contains(t, outs[0].String(), "shutting down")

	stop, _ = start()
	defer stop()
	ents, err := client.Read(ctx, 1, 100)
	require.NoError(t, err)
	require.Len(t, ents, 20, "acknowledged appends lost across a restart")
	off, err := client.Append(ctx, []byte("after restart"))
	require.NoError(t, err)
	require.Equal(t, uint64(21), off)
}

func TestFlagErrors(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	require.ErrorContains(t, run(ctx, []string{"-id", "n1"}, &out), "-members")
	require.Error(t, run(ctx, []string{"-id", "n1", "-members", "n1"}, &out))
	require.Error(t, run(ctx, []string{"-id", "n9", "-members", "n1=127.0.0.1:1"}, &out))
	require.Error(t, run(ctx, []string{"-port", "70000"}, &out))
	require.Error(t, run(ctx, []string{"extra"}, &out))
	require.Error(t, run(ctx, []string{"-log-level", "loud"}, &out))
}
