package ids

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stele-log/stele/internal/fsx"
)

// model is the reference the index is checked against: the id of every seq.
type model struct {
	ids [][]byte
}

func (m *model) add(id []byte) uint64 {
	m.ids = append(m.ids, id)
	return uint64(len(m.ids) - 1)
}

// genID returns an id like the ones clients send. With prob repeat it reuses
// an earlier id (a resent event that the caller would have caught; the index
// must still return every seq).
func genID(rng *rand.Rand, m *model, repeat float64) []byte {
	if len(m.ids) > 0 && rng.Float64() < repeat {
		return m.ids[rng.IntN(len(m.ids))]
	}
	return fmt.Appendf(nil, "evt-%016x-%d", rng.Uint64(), len(m.ids))
}

// addAll adds the model's ids from x.Covered() on.
func addAll(t testing.TB, x *Index, m *model) {
	t.Helper()
	for seq := x.Covered(); seq < uint64(len(m.ids)); seq++ {
		if err := x.Add(m.ids[seq], seq); err != nil {
			t.Fatalf("Add(seq %d): %v", seq, err)
		}
	}
}

// checkIndex checks that x answers exactly like the model for every id of
// every seq below x.Covered(), and for some absent ids. Candidates are the
// seqs whose id has the same hash under x, which with the real hash are the
// seqs with the same id.
func checkIndex(t testing.TB, x *Index, m *model) {
	t.Helper()
	covered := x.Covered()
	if covered > uint64(len(m.ids)) {
		t.Fatalf("Covered() = %d, but only %d ids were added", covered, len(m.ids))
	}
	byHash := make(map[uint64][]uint64)
	for seq := range covered {
		h := x.hash(m.ids[seq])
		byHash[h] = append(byHash[h], seq)
	}
	var dst []uint64
	for seq := range covered {
		id := m.ids[seq]
		var err error
		dst, err = x.Lookup(dst[:0], id)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", id, err)
		}
		want := slices.Clone(byHash[x.hash(id)])
		slices.Reverse(want)
		if !slices.Equal(dst, want) {
			t.Fatalf("Lookup(%q) = %v, want %v (covered %d)", id, dst, want, covered)
		}
	}
	for i := range 100 {
		id := fmt.Appendf(nil, "absent-%d", i)
		got, err := x.Lookup(nil, id)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", id, err)
		}
		want := slices.Clone(byHash[x.hash(id)])
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Lookup(%q) = %v, want %v", id, got, want)
		}
	}
}

func mustOpen(t testing.TB, fsys fsx.FS, dir string, opts Options) *Index {
	t.Helper()
	x, err := Open(fsys, dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return x
}

func mustIdle(t testing.TB, x *Index) {
	t.Helper()
	if err := x.waitIdle(); err != nil {
		t.Fatalf("waiting for background work: %v", err)
	}
}

func mustClose(t testing.TB, x *Index) {
	t.Helper()
	if err := x.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// runCounts returns the sizes of x's live runs, oldest first.
func runCounts(x *Index) []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []uint64
	for _, r := range x.runs {
		out = append(out, r.count())
	}
	return out
}

// encodeRun returns the bytes of a run file holding entries (any order).
func encodeRun(t testing.TB, hdr runHeader, entries []entry) []byte {
	t.Helper()
	es := slices.Clone(entries)
	slices.SortFunc(es, compareEntries)
	var buf bytes.Buffer
	rw := newRunWriter(&buf, hdr)
	for _, e := range es {
		if err := rw.add(e); err != nil {
			t.Fatalf("runWriter.add: %v", err)
		}
	}
	if err := rw.finish(); err != nil {
		t.Fatalf("runWriter.finish: %v", err)
	}
	return buf.Bytes()
}

// randomEntries returns one entry per seq in [first, first+n) with random
// hashes, some of them shared.
func randomEntries(rng *rand.Rand, first uint64, n int) []entry {
	es := make([]entry, n)
	for i := range es {
		h := rng.Uint64()
		if i > 0 && rng.IntN(10) == 0 {
			h = es[rng.IntN(i)].hash
		}
		es[i] = entry{hash: h, seq: first + uint64(i)}
	}
	return es
}

func asCorruption(t testing.TB, err error) *CorruptionError {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v (%T) is not a *CorruptionError wrapping ErrCorrupt", err, err)
	}
	return ce
}

// nopCloser lets a bytes.Reader back a run in tests.
type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
