package pebble

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
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

	var wg sync.WaitGroup
	errs := make(chan error, 1+setters)
	wg.Go(func() {
		for i := range appends {
			if err := s.Append(entriesAt(s.LastOffset()+1, 1+i%5)); err != nil {
				errs <- err
				return
			}
		}
	})
	for g := range setters {
		wg.Go(func() {
			for i := range setsEach {
				if err := s.SetMeta(fmt.Sprintf("key-%d", g), fmt.Appendf(nil, "%d", i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
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
