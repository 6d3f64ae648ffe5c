package chaintest

import "sync"

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
