//go:build !race

package chain_test

// idleConns is how many idle connections TestTenThousandIdleConnections
// opens.
const idleConns = 10_000
