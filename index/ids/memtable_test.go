package ids

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMemtableSorted(t *testing.T) {
	cases := []struct {
		name string
		n    int
		hash func(rng *rand.Rand, i int) uint64
	}{
		{"empty", 0, nil},
		{"one", 1, func(rng *rand.Rand, _ int) uint64 { return rng.Uint64() }},
		{"uniform", 5000, func(rng *rand.Rand, _ int) uint64 { return rng.Uint64() }},
		{"duplicates", 5000, func(rng *rand.Rand, _ int) uint64 { return rng.Uint64N(50) << 40 }},
		{"one bucket", 3000, func(rng *rand.Rand, _ int) uint64 { return rng.Uint64N(1 << 20) }},
		{"extremes", 100, func(_ *rand.Rand, i int) uint64 { return []uint64{0, 1<<64 - 1}[i%2] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), 3))
			m := newMemtable(1000, max(tc.n, 1))
			want := make([]entry, tc.n)
			for i := range tc.n {
				h := tc.hash(rng, i)
				m.add(h)
				want[i] = entry{hash: h, seq: 1000 + uint64(i)}
			}
			slices.SortFunc(want, compareEntries)
			if got := m.sorted(); !slices.Equal(got, want) {
				t.Fatalf("sorted() differs from a comparison sort")
			}
		})
	}
}

func TestMemtableLookup(t *testing.T) {
	m := newMemtable(50, 16)
	for _, h := range []uint64{7, 9, 7, 1 << 63, 7, 23} {
		m.add(h)
	}
	cases := []struct {
		hash uint64
		want []uint64
	}{
		{7, []uint64{54, 52, 50}},
		{9, []uint64{51}},
		{1 << 63, []uint64{53}},
		{8, nil},
		{7 | 1<<40, nil}, // same slot, different tag
	}
	for _, tc := range cases {
		if got := m.lookup(nil, tc.hash); !slices.Equal(got, tc.want) {
			t.Errorf("lookup(%#x) = %v, want %v", tc.hash, got, tc.want)
		}
	}
	m.reset(100)
	if got := m.lookup(nil, 7); len(got) != 0 || m.len() != 0 || m.end() != 100 {
		t.Fatalf("after reset: lookup %v, len %d, end %d", got, m.len(), m.end())
	}
}
