package ids

import (
	"cmp"
	"math/bits"
	"slices"
)

// memtable holds the hashes of a contiguous seq range [base, base+len) in
// memory: hashes in seq order plus an open-addressing table (linear probing,
// load ≤ 1/2) from hash to position. Two ids with the same hash simply occupy
// two slots. It costs 8 bytes per id plus 4 bytes per slot, about 16 bytes per
// id at capacity, and allocates nothing after creation.
//
// A slot holds position+1 in its low posBits bits and the top bits of the
// hash (a tag) above them, so that probing past an occupied slot rarely has
// to load the hash from hashes, a second cache miss.
//
// A memtable is written only by Add (under Index.mu); once frozen it is
// immutable, so the flusher reads it without the lock.
type memtable struct {
	base    uint64
	hashes  []uint64 // hashes[i] is the hash of the id of seq base+i
	slots   []uint32 // 0 = empty, else tag<<posBits | position+1
	mask    uint64   // len(slots)-1
	posBits uint     // bits for position+1; the tag has 32-posBits
}

func newMemtable(base uint64, capacity int) *memtable {
	nslots := 1 << bits.Len(uint(2*capacity-1)) // power of two ≥ 2·capacity
	return &memtable{
		base:    base,
		hashes:  make([]uint64, 0, capacity),
		slots:   make([]uint32, nslots),
		mask:    uint64(nslots - 1),
		posBits: uint(bits.Len(uint(capacity))),
	}
}

// reset empties m for reuse from base.
func (m *memtable) reset(base uint64) {
	m.base = base
	m.hashes = m.hashes[:0]
	clear(m.slots)
}

func (m *memtable) len() int    { return len(m.hashes) }
func (m *memtable) full() bool  { return len(m.hashes) == cap(m.hashes) }
func (m *memtable) end() uint64 { return m.base + uint64(len(m.hashes)) }

// tag is the part of h kept in a slot: its top bits, which the slot index
// (the low bits) does not use.
func (m *memtable) tag(h uint64) uint32 { return uint32(h>>(32+m.posBits)) << m.posBits }

// add records that seq m.end() has hash h. The caller checks full first.
func (m *memtable) add(h uint64) {
	pos := len(m.hashes)
	m.hashes = append(m.hashes, h)
	p := h & m.mask
	for m.slots[p] != 0 {
		p = (p + 1) & m.mask
	}
	m.slots[p] = m.tag(h) | uint32(pos+1)
}

// lookup appends the seqs whose hash is h, newest first.
func (m *memtable) lookup(dst []uint64, h uint64) []uint64 {
	mark := len(dst)
	tag := m.tag(h)
	posMask := uint32(1)<<m.posBits - 1
	for p := h & m.mask; ; p = (p + 1) & m.mask {
		s := m.slots[p]
		if s == 0 {
			break
		}
		if s&^posMask == tag && m.hashes[s&posMask-1] == h {
			dst = append(dst, m.base+uint64(s&posMask-1))
		}
	}
	// Linear probing places later inserts of a hash further along the chain.
	slices.Reverse(dst[mark:])
	return dst
}

// entry is one (hash, seq) pair; runs store entries sorted by hash, then seq.
type entry struct {
	hash uint64
	seq  uint64
}

func compareEntries(a, b entry) int {
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// sorted returns m's entries in run order. Hashes are uniform, so one
// counting pass on their top bits puts each entry in a bucket of about four,
// and the buckets are then sorted on their own: several times faster than a
// comparison sort, which was a third of the CPU an id costs (flush + merge +
// Add). Entries are scattered in seq order, so equal hashes stay in seq
// order. A bucket that is large anyway (a test's colliding hash) falls back
// to a comparison sort.
func (m *memtable) sorted() []entry {
	n := len(m.hashes)
	es := make([]entry, n)
	if n == 0 {
		return es
	}
	shift := 64 - max(1, bits.Len(uint(n))-2) // about 4 entries per bucket
	starts := make([]uint32, 1<<(64-shift)+1)
	for _, h := range m.hashes {
		starts[h>>shift+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	next := slices.Clone(starts[:len(starts)-1])
	for i, h := range m.hashes {
		b := h >> shift
		es[next[b]] = entry{hash: h, seq: m.base + uint64(i)}
		next[b]++
	}
	for b := range len(starts) - 1 {
		bucket := es[starts[b]:starts[b+1]]
		if len(bucket) > 32 {
			slices.SortFunc(bucket, compareEntries)
			continue
		}
		for i := 1; i < len(bucket); i++ { // insertion sort
			for j := i; j > 0 && compareEntries(bucket[j-1], bucket[j]) > 0; j-- {
				bucket[j-1], bucket[j] = bucket[j], bucket[j-1]
			}
		}
	}
	return es
}
