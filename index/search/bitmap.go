package search

import (
	"iter"
	"math/bits"
)

// Bitmap is a set of positions within one chunk: bit p stands for the event
// at seq Base()+p. It is a plain array, so it can live on the stack or be
// reused; no method allocates. Positions outside [0, ChunkSize) panic, like
// an out-of-range slice index.
type Bitmap [ChunkSize / 64]uint64

// Set adds position p.
func (b *Bitmap) Set(p int) { b[p>>6] |= 1 << (uint(p) & 63) }

// Unset removes position p.
func (b *Bitmap) Unset(p int) { b[p>>6] &^= 1 << (uint(p) & 63) }

// Has reports whether position p is in the set.
func (b *Bitmap) Has(p int) bool { return b[p>>6]&(1<<(uint(p)&63)) != 0 }

// Clear empties the set.
func (b *Bitmap) Clear() { *b = Bitmap{} }

// SetRange adds the positions [lo, hi). It does nothing when lo >= hi.
func (b *Bitmap) SetRange(lo, hi int) {
	if lo >= hi {
		return
	}
	_ = b[(hi-1)>>6] // bounds check once
	first, last := lo>>6, (hi-1)>>6
	loMask := ^uint64(0) << (uint(lo) & 63)
	hiMask := ^uint64(0) >> (63 - (uint(hi-1) & 63))
	if first == last {
		b[first] |= loMask & hiMask
		return
	}
	b[first] |= loMask
	for i := first + 1; i < last; i++ {
		b[i] = ^uint64(0)
	}
	b[last] |= hiMask
}

// ClearRange removes the positions [lo, hi). It does nothing when lo >= hi.
func (b *Bitmap) ClearRange(lo, hi int) {
	if lo >= hi {
		return
	}
	var r Bitmap
	r.SetRange(lo, hi) // 8 KiB on the stack; cheap next to a query
	b.AndNot(&r)
}

// And keeps only the positions also in o.
func (b *Bitmap) And(o *Bitmap) {
	for i := range b {
		b[i] &= o[i]
	}
}

// Or adds the positions of o.
func (b *Bitmap) Or(o *Bitmap) {
	for i := range b {
		b[i] |= o[i]
	}
}

// AndNot removes the positions of o.
func (b *Bitmap) AndNot(o *Bitmap) {
	for i := range b {
		b[i] &^= o[i]
	}
}

// Count returns the number of positions in the set.
func (b *Bitmap) Count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// AndCount returns the number of positions in both b and o, without
// changing either.
func (b *Bitmap) AndCount(o *Bitmap) int {
	n := 0
	for i, w := range b {
		n += bits.OnesCount64(w & o[i])
	}
	return n
}

// Any reports whether the set is not empty.
func (b *Bitmap) Any() bool {
	for _, w := range b {
		if w != 0 {
			return true
		}
	}
	return false
}

// Next returns the smallest position >= p in the set, or -1. Start at 0 to
// iterate upwards: for p := b.Next(0); p >= 0; p = b.Next(p + 1).
func (b *Bitmap) Next(p int) int {
	if p < 0 {
		p = 0
	}
	if p >= ChunkSize {
		return -1
	}
	i := p >> 6
	w := b[i] >> (uint(p) & 63)
	if w != 0 {
		return p + bits.TrailingZeros64(w)
	}
	for i++; i < len(b); i++ {
		if b[i] != 0 {
			return i<<6 + bits.TrailingZeros64(b[i])
		}
	}
	return -1
}

// Prev returns the largest position <= p in the set, or -1. Start at
// ChunkSize-1 to iterate downwards: for p := b.Prev(ChunkSize - 1); p >= 0;
// p = b.Prev(p - 1).
func (b *Bitmap) Prev(p int) int {
	if p < 0 {
		return -1
	}
	if p >= ChunkSize {
		p = ChunkSize - 1
	}
	i := p >> 6
	w := b[i] << (63 - uint(p)&63)
	if w != 0 {
		return p - bits.LeadingZeros64(w)
	}
	for i--; i >= 0; i-- {
		if b[i] != 0 {
			return i<<6 + 63 - bits.LeadingZeros64(b[i])
		}
	}
	return -1
}

// Ascending yields the positions in increasing order.
func (b *Bitmap) Ascending() iter.Seq[int] {
	return func(yield func(int) bool) {
		for i, w := range b {
			for w != 0 {
				t := bits.TrailingZeros64(w)
				if !yield(i<<6 + t) {
					return
				}
				w &= w - 1
			}
		}
	}
}

// Descending yields the positions in decreasing order (newest event first).
func (b *Bitmap) Descending() iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := len(b) - 1; i >= 0; i-- {
			w := b[i]
			for w != 0 {
				t := 63 - bits.LeadingZeros64(w)
				if !yield(i<<6 + t) {
					return
				}
				w &^= 1 << uint(t)
			}
		}
	}
}
