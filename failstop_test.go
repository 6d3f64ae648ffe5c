package chain_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/storage/memory"
)

var errDiskFailed = errors.New("injected write error")

// failingStorage fails every Append once armed, as a disk that returns an
// I/O error would, and counts the calls.
type failingStorage struct {
	chain.Storage
	armed   atomic.Bool
	appends atomic.Int64 // Append calls after arming
}

func (s *failingStorage) Append(ents []chain.Entry) error {
	if s.armed.Load() {
		s.appends.Add(1)
		return errDiskFailed
	}
	return s.Storage.Append(ents)
}

// TestStorageWriteErrorStopsTheNode arms a write error on each node in turn:
// the node stops serving, says why in its log and to clients, and never
// retries the failed write.
func TestStorageWriteErrorStopsTheNode(t *testing.T) {
	for victim, role := range []string{"head", "middle", "tail"} {
		t.Run(role, func(t *testing.T) {
			var logs testutil.SyncBuffer
			disks := make([]*failingStorage, 3)
			c := chaintest.Start(t, chaintest.Options{Nodes: 3,
				OpenStorage: func(i int) (chain.Storage, error) {
					disks[i] = &failingStorage{Storage: memory.New()}
					return disks[i], nil
				},
				NodeOptions: []chain.NodeOption{chain.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))},
			})
			cl := c.Client()
			ctx := testCtx(t)
			_, err := cl.Append(ctx, []byte("before"))
			require.NoError(t, err)

			disks[victim].armed.Store(true)
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			_, err = cl.Append(short, []byte("after"))
			require.ErrorIs(t, err, context.DeadlineExceeded, "a write committed past a failed disk")
			require.Eventually(t, func() bool { return c.Node(victim).Err() != nil }, 10*time.Second, time.Millisecond)
			require.ErrorIs(t, c.Node(victim).Err(), errDiskFailed)
			require.Contains(t, logs.String(), "node stopped serving")
			require.Contains(t, logs.String(), errDiskFailed.Error())
			require.Equal(t, int64(1), disks[victim].appends.Load(), "the failed write was retried")

			if victim == 0 {
				// The head refuses clients with the reason.
				short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
				_, err = cl.Append(short, []byte("refused"))
				require.ErrorContains(t, err, "node stopped")
				require.ErrorContains(t, err, errDiskFailed.Error())
			}
			// Nothing past the failure was acknowledged, and the first write
			// is still there.
			latest, err := c.Node(2).Log().Read(ctx, 1, 10)
			require.NoError(t, err)
			require.Len(t, latest, 1)
			require.Equal(t, "before", string(latest[0].Data))
		})
	}
}
