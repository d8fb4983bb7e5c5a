package ids

import (
	"math/rand/v2"
	"testing"
)

// TestBloomFalsePositiveRate measures the filter on random hashes (the
// index's hashes are uniform) at the densities bloomBitsPerKey uses, and
// checks that no added key is ever reported absent. The bounds are about
// 1.5× the measured rates, which are deterministic for the fixed PRNG.
func TestBloomFalsePositiveRate(t *testing.T) {
	cases := []struct {
		name       string
		keys       int
		bitsPerKey int
		maxRate    float64
	}{
		{"16 bits/key", 1 << 20, 16, 0.0015},
		{"20 bits/key", 1 << 20, 20, 0.0004},
		{"10 bits/key", 1 << 20, 10, 0.015},
		{"tiny", 3, 20, 0.0005}, // a single block
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.keys), uint64(tc.bitsPerKey)))
			f := newBloom(uint64(tc.keys), tc.bitsPerKey)
			keys := make([]uint64, tc.keys)
			for i := range keys {
				keys[i] = rng.Uint64()
				f.add(keys[i])
			}
			for _, k := range keys {
				if !f.mayContain(k) {
					t.Fatalf("added key %#x reported absent", k)
				}
			}
			const probes = 2_000_000
			fp := 0
			for range probes {
				if f.mayContain(rng.Uint64()) {
					fp++
				}
			}
			rate := float64(fp) / probes
			t.Logf("%d keys at %d bits/key: false-positive rate %.4f%%", tc.keys, tc.bitsPerKey, 100*rate)
			if rate > tc.maxRate {
				t.Fatalf("false-positive rate %.4f%%, want ≤ %.4f%%", 100*rate, 100*tc.maxRate)
			}
		})
	}
}

func TestBloomSize(t *testing.T) {
	for _, tc := range []struct {
		keys       uint64
		bitsPerKey int
		wantBlocks uint64
	}{
		{0, 16, 1},
		{1, 16, 1},
		{32, 16, 1},
		{33, 16, 2},
		{1 << 20, 16, 1 << 15},
	} {
		if got := newBloom(tc.keys, tc.bitsPerKey).nblocks; got != tc.wantBlocks {
			t.Errorf("newBloom(%d, %d): %d blocks, want %d", tc.keys, tc.bitsPerKey, got, tc.wantBlocks)
		}
	}
}
