//go:build race

package query_test

// raceEnabled: the race detector slows record matching about tenfold, so the
// heaviest tests run a subset of their cases under it.
const raceEnabled = true
