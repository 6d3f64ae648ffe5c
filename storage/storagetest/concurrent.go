package storagetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// testConcurrent appends from one goroutine while others read ranges that
// are held at the time they read.
func testConcurrent(t *testing.T, s chain.Storage) {
	const total, readers = 2000, 4
	done := make(chan struct{})
	errs := make([]error, readers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		errs[0] = appendInBatches(s, total)
	})
	for r := 1; r <= readers; r++ {
		wg.Go(func() { errs[r] = readWhileAppending(s, done, uint64(r)) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	requireLog(t, s, 1, makeEntries(1, total))
}

// appendInBatches appends entries 1 to total in batches of varying size.
func appendInBatches(s chain.Storage, total int) error {
	for next := 1; next <= total; {
		n := min(next%37+1, total-next+1)
		if err := s.Append(makeEntries(uint64(next), n)); err != nil {
			return fmt.Errorf("append %d entries at %d: %w", n, next, err)
		}
		next += n
	}
	return nil
}

// readWhileAppending reads random held ranges until done is closed, and
// once more after that.
func readWhileAppending(s chain.Storage, done <-chan struct{}, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	var prevLast uint64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		first, last := s.FirstOffset(), s.LastOffset()
		if first != 1 || last < prevLast {
			return fmt.Errorf("range [%d, %d] after [1, %d] was seen", first, last, prevLast)
		}
		prevLast = last
		if last < first {
			continue
		}
		from := first + rng.Uint64N(last-first+1)
		to := from + 1 + rng.Uint64N(last-from+1)
		maxBytes := 1 + rng.IntN(2048)
		got, err := s.Entries(from, to, maxBytes)
		if err != nil {
			return fmt.Errorf("Entries(%d, %d, %d) with [%d, %d] held: %w", from, to, maxBytes, first, last, err)
		}
		if want := limit(makeEntries(from, int(to-from)), maxBytes); !sameEntries(want, got) {
			return fmt.Errorf("Entries(%d, %d, %d) = %d entries %v, want %d entries %v",
				from, to, maxBytes, len(got), got, len(want), want)
		}
	}
	return nil
}

// sameEntries reports whether a and b hold the same entries, treating nil
// and empty Data alike.
func sameEntries(a, b []chain.Entry) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// testLarge writes 10000 entries and reads them back in pages limited by
// maxBytes.
func testLarge(t *testing.T, s chain.Storage) {
	const n, batch, maxBytes, window = 10000, 500, 4096, 1000
	for next := uint64(1); next <= n; next += batch {
		require.NoError(t, s.Append(makeEntries(next, batch)))
	}
	want := makeEntries(1, n)
	requireLog(t, s, 1, want)
	var got []chain.Entry
	for from := uint64(1); from <= n; {
		to := min(from+window, n+1)
		page, err := s.Entries(from, to, maxBytes)
		require.NoError(t, err, "Entries(%d, %d, %d)", from, to, maxBytes)
		require.Len(t, page, len(limit(want[from-1:to-1], maxBytes)), "Entries(%d, %d, %d)", from, to, maxBytes)
		got = append(got, page...)
		from += uint64(len(page))
	}
	requireEntries(t, want, got)
}
