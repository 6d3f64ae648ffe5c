//go:build !race

package chain_test

// kvSimulatedSchedules is how many schedules TestKVUnderSimulatedFaults runs.
const kvSimulatedSchedules = 300
