package chaintest

import (
	"io"
	"sync"
	"testing"
)

// takeSlot empties slot i of s under mu and returns what it held (the
// zero value if nothing), so that one caller alone closes what a slot
// held.
func takeSlot[T any](mu *sync.Mutex, s []T, i int) T {
	mu.Lock()
	defer mu.Unlock()
	v := s[i]
	var empty T
	s[i] = empty
	return v
}

// closeSlot empties slot i of s under mu and closes what it held, as a
// process exit would; a failure to close is an error of t, naming what
// the slot held ("node" gives "close node 2"). It reports whether the slot
// held anything.
func closeSlot[T interface {
	comparable
	io.Closer
}](t testing.TB, mu *sync.Mutex, s []T, i int, what string) bool {
	v := takeSlot(mu, s, i)
	var empty T
	if v == empty {
		return false
	}
	if err := v.Close(); err != nil {
		t.Errorf("chaintest: close %s %d: %v", what, i, err)
	}
	return true
}
