package chaintest_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
	"github.com/chainrep/chain/storage/storagetest"
)

func TestDiskConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) chain.Storage {
		st, err := chaintest.NewDisk(1, 0).Open()
		require.NoError(t, err)
		return st
	})
}

func entriesAt(from uint64, n int) []chain.Entry {
	out := make([]chain.Entry, n)
	for i := range out {
		out[i] = chain.Entry{Offset: from + uint64(i), Epoch: 1, Data: []byte{byte(i)}}
	}
	return out
}

// TestDiskCrashKeepsWhatWasSynced: after a crash the disk holds every
// change that returned, and the dead storage's later changes go nowhere;
// a change still syncing survives or not, whole.
func TestDiskCrashKeepsWhatWasSynced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for seed := range int64(20) {
			d := chaintest.NewDisk(seed, time.Millisecond)
			st, err := d.Open()
			require.NoError(t, err)
			require.NoError(t, st.Append(entriesAt(1, 3)))
			require.NoError(t, st.SetMeta("commit", []byte{2}))
			done := make(chan error, 1)
			go func() { done <- st.Append(entriesAt(4, 2)) }()
			synctest.Wait() // the second append waits for its sync
			require.Equal(t, uint64(5), st.LastOffset(), "a change is visible before it is synced")
			d.Crash()
			require.NoError(t, <-done)
			require.NoError(t, st.Append(entriesAt(6, 1)), "a dead storage's changes report success")
			require.NoError(t, st.Close())

			again, err := d.Open()
			require.NoError(t, err)
			last := again.LastOffset()
			require.Contains(t, []uint64{3, 5}, last, "seed %d", seed)
			v, ok, err := again.Meta("commit")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, []byte{2}, v)
			require.NoError(t, again.Close())
		}
	})
}

// TestDiskWipe: a wiped disk opens empty.
func TestDiskWipe(t *testing.T) {
	d := chaintest.NewDisk(1, 0)
	st, err := d.Open()
	require.NoError(t, err)
	require.NoError(t, st.Append(entriesAt(1, 2)))
	require.NoError(t, st.SetMeta("commit", []byte{1}))
	d.Crash()
	d.Wipe()
	again, err := d.Open()
	require.NoError(t, err)
	require.Equal(t, uint64(0), again.LastOffset())
	_, ok, err := again.Meta("commit")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = d.Open()
	require.ErrorIs(t, err, chain.ErrInvalidArgument, "one storage open at a time")
}

// TestDiskFaultsFailStop: a full disk or a failed sync fails the change
// and every later one, and reads go on.
func TestDiskFaultsFailStop(t *testing.T) {
	d := chaintest.NewDisk(1, 0)
	st, err := d.Open()
	require.NoError(t, err)
	require.NoError(t, st.Append(entriesAt(1, 2)))
	d.Fill(true)
	require.ErrorIs(t, st.Append(entriesAt(3, 1)), chaintest.ErrDiskFull)
	d.Fill(false)
	require.ErrorIs(t, st.SetMeta("commit", []byte{1}), chaintest.ErrDiskFull, "fail-stop")
	ents, err := st.Entries(1, 3, 1<<20)
	require.NoError(t, err)
	require.Len(t, ents, 2)
	require.NoError(t, st.Close())

	st, err = d.Open()
	require.NoError(t, err)
	d.FailSync()
	require.ErrorIs(t, st.Append(entriesAt(3, 1)), chaintest.ErrSyncFailed)
	require.ErrorIs(t, st.Append(entriesAt(4, 1)), chaintest.ErrSyncFailed)
	require.NoError(t, st.Close())
	st, err = d.Open()
	require.NoError(t, err)
	require.Contains(t, []uint64{2, 3}, st.LastOffset(), "a failed sync's change may or may not survive")
	require.NoError(t, st.Close())
}
