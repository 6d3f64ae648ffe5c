//go:build !unix

package benchload

import "time"

// ProcessCPU returns zero: the process's CPU time is read on unix only.
func ProcessCPU() time.Duration { return 0 }
