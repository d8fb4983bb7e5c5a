//go:build race

package gen_test

import "testing"

// statistical skips a test that checks the workload's distributions on
// large samples: single-threaded arithmetic, where the race detector finds
// nothing and costs tenfold. .ci/run runs them without -race.
func statistical(t *testing.T) {
	t.Helper()
	t.Skip("statistical test: run without -race (.ci/run does: go test ./gen)")
}
