package testutil

import "runtime"

// AllocatedBy returns the bytes allocated while f ran, by every goroutine:
// a bound on what f allocates when nothing else runs.
func AllocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
