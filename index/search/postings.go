package search

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

var errMalformed = errors.New("malformed postings list")

// postings is one term's postings wherever they live: a single position, a
// delta list or a bitmap read from a chunk file, or a term of a memChunk.
type postings struct {
	count  int // postings stored
	kind   int
	single uint16
	n      int    // positions must be below n (events in the chunk or snapshot)
	data   []byte // kindInline, kindList: delta list; kindBitmap: bitmap bytes
	mem    *memChunk
	ti     uint32 // with mem: the term
}

// walkList calls fn with each position of a delta list, which must hold
// exactly count strictly increasing positions below n and nothing else.
func walkList(data []byte, count, n int, fn func(p int)) bool {
	prev, off := -1, 0
	for range count {
		var d uint64
		if off < len(data) && data[off] < 0x80 {
			d = uint64(data[off])
			off++
		} else {
			v, k := binary.Uvarint(data[off:])
			if k <= 0 {
				return false
			}
			d, off = v, off+k
		}
		if d >= uint64(n) {
			return false
		}
		p := prev + 1 + int(d)
		if p >= n {
			return false
		}
		fn(p)
		prev = p
	}
	return off == len(data)
}

// bitmapWords calls fn with each 64-bit word of a bitmap payload.
func bitmapWords(data []byte, fn func(i int, w uint64)) {
	for i := 0; i+8 <= len(data); i += 8 {
		fn(i/8, binary.LittleEndian.Uint64(data[i:]))
	}
}

// validate checks a decoded list completely; readers call it only at Open
// and in tests, and otherwise rely on the file's CRCs.
func (p *postings) validate() error {
	switch p.kind {
	case kindSingle:
		if int(p.single) >= p.n {
			return errors.New("position beyond the chunk")
		}
	case kindInline, kindList:
		if !walkList(p.data, p.count, p.n, func(int) {}) {
			return errMalformed
		}
	case kindBitmap:
		total, beyond := 0, false
		bitmapWords(p.data, func(i int, w uint64) {
			total += bits.OnesCount64(w)
			if hi := i*64 + 64; hi > p.n {
				lo := max(p.n-i*64, 0)
				beyond = beyond || w>>uint(lo) != 0
			}
		})
		if beyond {
			return errors.New("bitmap has positions beyond the chunk")
		}
		if total != p.count {
			return errors.New("bitmap population differs from the count")
		}
	}
	return nil
}

// or sets the positions in dst.
func (p *postings) or(dst *Bitmap) error {
	if p.mem != nil {
		p.mem.orTerm(p.ti, p.n, dst)
		return nil
	}
	switch p.kind {
	case kindSingle:
		if int(p.single) >= p.n {
			return errMalformed
		}
		dst.Set(int(p.single))
	case kindInline, kindList:
		if !walkList(p.data, p.count, p.n, dst.Set) {
			return errMalformed
		}
	case kindBitmap:
		bitmapWords(p.data, func(i int, w uint64) { dst[i] |= w })
	}
	return nil
}

// countIn returns how many positions are in mask (all when mask is nil).
func (p *postings) countIn(mask *Bitmap) (int, error) {
	if p.mem != nil {
		return p.mem.countTerm(p.ti, p.n, mask), nil
	}
	if mask == nil {
		return p.count, nil
	}
	n := 0
	switch p.kind {
	case kindSingle:
		if mask.Has(int(p.single)) {
			n = 1
		}
	case kindInline, kindList:
		if !walkList(p.data, p.count, p.n, func(pos int) {
			if mask.Has(pos) {
				n++
			}
		}) {
			return 0, errMalformed
		}
	case kindBitmap:
		bitmapWords(p.data, func(i int, w uint64) { n += bits.OnesCount64(w & mask[i]) })
	}
	return n, nil
}
