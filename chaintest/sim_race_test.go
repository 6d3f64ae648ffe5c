//go:build race

package chaintest_test

// simulatedSchedules is how many schedules TestSimulation runs by default
// under the race detector, which slows every schedule down many times.
const simulatedSchedules = 100
