package ids

import "math/bits"

// bloom is a split-block bloom filter over 64-bit id hashes. Each key selects
// one 512-bit block (a cache line) and sets one bit in each of its eight
// 64-bit words, so a negative lookup costs one cache miss, which matters
// because every absent-id lookup probes one filter per run.
//
// The block is chosen from the high bits of the hash (multiply-shift), so
// keys fed in hash order fill the filter front to back: building a filter
// while scanning a run, which is sorted by hash, streams through memory.
// Filters are never stored; they are rebuilt whenever a run is opened.
type bloom struct {
	words   []uint64
	nblocks uint64
}

// bloomBlockWords is the number of 64-bit words in a block (512 bits).
const bloomBlockWords = 8

// newBloom sizes a filter for keys keys at bitsPerKey bits each.
func newBloom(keys uint64, bitsPerKey int) bloom {
	nblocks := (keys*uint64(bitsPerKey) + 511) / 512
	if nblocks == 0 {
		nblocks = 1
	}
	return bloom{words: make([]uint64, nblocks*bloomBlockWords), nblocks: nblocks}
}

// bloomBitsPerKey is the filter density for a run of count keys. Runs hold
// disjoint ids, so the chance that an absent id reaches the disk is the sum
// of the runs' false-positive rates; small runs get denser filters because
// their memory is cheap. Measured false-positive rates are in bloom_test.go.
func bloomBitsPerKey(count uint64) int {
	if count <= 1<<21 {
		return 20 // 0.026 % false positives, measured in bloom_test.go
	}
	return 16 // 0.093 %
}

// bloomMix derives the in-block bit positions. The block choice depends
// mostly on the high bits of h; the top bits of h·φ depend on every bit of h.
func bloomMix(h uint64) uint64 { return h * 0x9e3779b97f4a7c15 }

func (b *bloom) add(h uint64) {
	hi, _ := bits.Mul64(h, b.nblocks)
	w := b.words[hi*bloomBlockWords : hi*bloomBlockWords+bloomBlockWords]
	y := bloomMix(h)
	for i := range bloomBlockWords {
		w[i] |= 1 << ((y >> (16 + 6*i)) & 63)
	}
}

// mayContain reports whether h may have been added.
func (b *bloom) mayContain(h uint64) bool {
	base := b.block(h)
	return b.test(base, b.words[base], bloomMix(h))
}

// block returns the index in b.words of h's block.
func (b *bloom) block(h uint64) uint64 {
	hi, _ := bits.Mul64(h, b.nblocks)
	return hi * bloomBlockWords
}

// test checks the key's eight bits in the block at base, given the block's
// first word w0 (already loaded by the caller, see Index.Lookup) and
// y = bloomMix(h). It tests all eight bits with one branch instead of eight:
// absent keys hit set bits about half the time, so a branch per bit would be
// mispredicted often, and a mispredict also stalls the next run's filter
// load, which otherwise overlaps with this one.
func (b *bloom) test(base, w0, y uint64) bool {
	w := b.words[base : base+bloomBlockWords]
	return (w0>>((y>>16)&63))&
		(w[1]>>((y>>22)&63))&
		(w[2]>>((y>>28)&63))&
		(w[3]>>((y>>34)&63))&
		(w[4]>>((y>>40)&63))&
		(w[5]>>((y>>46)&63))&
		(w[6]>>((y>>52)&63))&
		(w[7]>>((y>>58)&63))&1 != 0
}

// sizeBytes is the filter's memory footprint.
func (b *bloom) sizeBytes() int { return len(b.words) * 8 }
