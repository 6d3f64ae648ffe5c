package chaintest_test

import (
	"testing"

	"github.com/chainrep/chain/chaintest"
)

// TestSimulation runs seeded fault schedules of whole clusters in virtual
// time (see chaintest.Simulate) with the default fault set
// (chaintest.DefaultFaults: every kind that exposes no open defect);
// CHAIN_SCHEDULES, CHAIN_SEED, CHAIN_SEED_BASE and CHAIN_FAULTS change
// what runs.
func TestSimulation(t *testing.T) {
	chaintest.Simulate(t, chaintest.SimOptions{Schedules: simulatedSchedules})
}
