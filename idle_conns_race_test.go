//go:build race

package chain_test

// idleConns is how many idle connections TestTenThousandIdleConnections
// opens under the race detector, which allows at most 8128 goroutines
// alive at once (each idle connection has three).
const idleConns = 2_000
