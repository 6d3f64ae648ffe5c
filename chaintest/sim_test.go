package chaintest_test

import (
	"testing"

	"github.com/chainrep/chain/chaintest"
)

// TestSimulation runs simulatedSchedules seeded fault schedules of whole
// clusters in virtual time (see chaintest.Simulate); CHAIN_SCHEDULES,
// CHAIN_SEED, CHAIN_SEED_BASE and CHAIN_FAULTS change what runs.
func TestSimulation(t *testing.T) {
	chaintest.Simulate(t, chaintest.SimOptions{Schedules: simulatedSchedules})
}
