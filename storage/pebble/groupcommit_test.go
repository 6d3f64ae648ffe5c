package pebble

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// TestConcurrentSyncingChangesShareFsyncs runs one appender (as the node
// does) and several SetMeta callers at once on a file system whose syncs
// are slow, and checks that every change is durable and that the changes
// needed far fewer WAL fsyncs than there were changes: Pebble's commit
// pipeline groups concurrent syncing commits.
func TestConcurrentSyncingChangesShareFsyncs(t *testing.T) {
	const appends, setters, setsEach = 100, 7, 30
	mem := vfs.NewCrashableMem()
	var walSyncs atomic.Int64
	fs := &hookFS{FS: mem, onSync: func(path string, after bool) {
		if !after && strings.HasSuffix(path, ".log") {
			walSyncs.Add(1)
			time.Sleep(time.Millisecond)
		}
	}}
	s, err := Open("/db", WithFS(fs))
	require.NoError(t, err)
	before := walSyncs.Load()

	var eg errgroup.Group
	eg.Go(func() error {
		for i := range appends {
			if err := s.Append(entriesAt(s.LastOffset()+1, 1+i%5)); err != nil {
				return err
			}
		}
		return nil
	})
	for g := range setters {
		eg.Go(func() error {
			for i := range setsEach {
				if err := s.SetMeta(fmt.Sprintf("key-%d", g), fmt.Appendf(nil, "%d", i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, eg.Wait())
	changes := int64(appends + setters*setsEach)
	syncs := walSyncs.Load() - before
	t.Logf("%d syncing changes took %d WAL fsyncs", changes, syncs)
	require.Less(t, syncs, changes*3/4, "concurrent syncing commits did not share fsyncs")
	last := s.LastOffset()

	// Everything acknowledged is in what was synced.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, s.Close())
	s, err = Open("/db", WithFS(crashed))
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, last, s.LastOffset())
	for g := range setters {
		v, ok, err := s.Meta(fmt.Sprintf("key-%d", g))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fmt.Sprint(setsEach-1), string(v))
	}
}
