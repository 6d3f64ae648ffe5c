//go:build !race

package chaintest_test

// simulatedSchedules is how many schedules TestSimulation runs by default.
const simulatedSchedules = 2000
