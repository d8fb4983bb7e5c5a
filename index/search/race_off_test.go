//go:build !race

package search

// raceEnabled reports whether the tests run under the race detector, which
// makes them 8 to 10 times slower; the slowest tests then do less
// (see TestModel and TestRealChunkSize).
const raceEnabled = false
