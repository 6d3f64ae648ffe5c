//go:build race

package chain_test

// kvSimulatedSchedules is how many schedules TestKVUnderSimulatedFaults runs
// under the race detector.
const kvSimulatedSchedules = 20
