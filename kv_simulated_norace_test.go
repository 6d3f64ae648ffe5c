//go:build !race

package chain_test

// kvSimulatedSchedules is how many schedules TestKVUnderSimulatedFaults
// runs in CI (about 40 s of CPU); CHAIN_SCHEDULES=N runs more.
const kvSimulatedSchedules = 300
