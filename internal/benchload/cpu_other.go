//go:build !unix

package benchload

import "time"

// processCPU returns zero: the process's CPU time is read on unix only.
func processCPU() time.Duration { return 0 }
