package pebble

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// walFault injects errorfs.ErrInjected into the operations of the given
// kinds on write-ahead log files while it is armed.
type walFault struct {
	armed atomic.Bool
	kinds []errorfs.OpKind
	hits  atomic.Int64
}

func (f *walFault) MaybeError(op errorfs.Op) error {
	if !f.armed.Load() || !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	for _, k := range f.kinds {
		if op.Kind == k {
			f.hits.Add(1)
			return errorfs.ErrInjected
		}
	}
	return nil
}

func (f *walFault) String() string { return "wal fault" }

// quietLogger discards the storage's log output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestFailStop(t *testing.T) {
	faults := map[string][]errorfs.OpKind{
		"sync":  {errorfs.OpFileSync, errorfs.OpFileSyncData},
		"write": {errorfs.OpFileWrite, errorfs.OpFileWriteAt},
	}
	ops := map[string]func(s *Storage) error{
		"Append":         func(s *Storage) error { return s.Append(entriesAt(s.LastOffset()+1, 3)) },
		"SetMeta":        func(s *Storage) error { return s.SetMeta("commit", []byte("9")) },
		"TruncateSuffix": func(s *Storage) error { return s.TruncateSuffix(s.LastOffset()) },
		"TruncatePrefix": func(s *Storage) error { return s.TruncatePrefix(s.FirstOffset() + 1) },
	}
	for faultName, kinds := range faults {
		for opName, failingOp := range ops {
			t.Run(faultName+"/"+opName, func(t *testing.T) {
				mem := vfs.NewMem()
				fault := &walFault{kinds: kinds}
				s, err := Open("/db", WithFS(errorfs.Wrap(mem, fault)), WithLogger(quietLogger()))
				require.NoError(t, err)
				acked := entriesAt(1, 10)
				require.NoError(t, s.Append(acked))
				require.NoError(t, s.SetMeta("commit", []byte("5")))

				fault.armed.Store(true)
				err = failingOp(s)
				require.Error(t, err, "%s with the WAL failing", opName)
				require.ErrorIs(t, err, ErrFailed)
				require.ErrorIs(t, err, errorfs.ErrInjected)
				require.Positive(t, fault.hits.Load())
				fault.armed.Store(false)

				// Every later change is refused with the first error, even
				// though the file system works again.
				for name, op := range ops {
					err := op(s)
					require.ErrorIs(t, err, ErrFailed, "%s after the failure", name)
					require.ErrorIs(t, err, errorfs.ErrInjected, "%s after the failure", name)
				}
				require.ErrorIs(t, s.Append(nil), ErrFailed, "an empty append after the failure")
				// Reads still serve what was acknowledged.
				got, err := s.Entries(2, 5, 1<<20) // entry 1 may be truncated
				require.NoError(t, err)
				require.Equal(t, acked[1:4], got)
				v, ok, err := s.Meta("commit")
				require.NoError(t, err)
				require.True(t, ok)
				require.Contains(t, []string{"5", "9"}, string(v))
				_ = s.Close() // may report the failure again
				require.ErrorIs(t, s.Append(entriesAt(11, 1)), chain.ErrClosed)

				// What was acknowledged survives.
				s, err = Open("/db", WithFS(mem))
				require.NoError(t, err)
				defer s.Close()
				// The failed change may or may not have happened.
				require.LessOrEqual(t, s.FirstOffset(), uint64(2))
				require.GreaterOrEqual(t, s.LastOffset(), uint64(9))
				got, err = s.Entries(2, 10, 1<<20)
				require.NoError(t, err)
				require.Equal(t, acked[1:9], got)
			})
		}
	}
}

// entriesAt returns n entries starting at offset from.
func entriesAt(from uint64, n int) []chain.Entry {
	es := make([]chain.Entry, n)
	for i := range es {
		off := from + uint64(i)
		es[i] = chain.Entry{Offset: off, Epoch: 1, Client: "c", Seq: off, Command: "put", Data: bytes.Repeat([]byte{byte(off)}, int(off%7)+1)}
	}
	return es
}

// TestUnsyncedWriteErrorSurfacesAtClose documents WithSync(false): Pebble
// buffers the write-ahead log and writes it without being asked to sync,
// so a write error is seen at Close at the latest.
func TestUnsyncedWriteErrorSurfacesAtClose(t *testing.T) {
	fault := &walFault{kinds: []errorfs.OpKind{errorfs.OpFileWrite, errorfs.OpFileWriteAt}}
	s, err := Open("/db", WithFS(errorfs.Wrap(vfs.NewMem(), fault)), WithSync(false), WithLogger(quietLogger()))
	require.NoError(t, err)
	fault.armed.Store(true)
	for range 3 {
		if err := s.Append(entriesAt(s.LastOffset()+1, 3)); err != nil {
			require.ErrorIs(t, err, ErrFailed)
			break
		}
	}
	require.ErrorIs(t, s.Close(), errorfs.ErrInjected)
}
