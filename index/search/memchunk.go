package search

import (
	"bytes"
	"hash/maphash"
	"math"
	"sync"
)

// memChunk is a chunk being filled by Add: an open-addressing hash table
// from term key to term, and each term's postings in a chain of blocks in
// one shared []uint16 pool. Nothing in it holds a pointer per term, so a
// chunk of a few hundred thousand terms costs the garbage collector
// nothing.
//
// Add (one writer) holds mu exclusively while it inserts one event's terms;
// readers hold it shared. Readers pass the number of events their snapshot
// saw (limit) and ignore later positions, so a snapshot stays consistent
// while Adds continue. Once full, a memChunk is never written again.
type memChunk struct {
	mu   sync.RWMutex
	base uint64
	n    int // events added

	times      []int64 // time of each event, by position
	tmin, tmax int64

	seed  maphash.Seed
	keys  []byte    // every term's key, concatenated
	terms []memTerm // in order of first appearance
	slots []uint64  // hash table: hash>>32 << 32 | term index+1; 0 is empty
	pool  []uint16  // postings blocks

	// groupIdx maps the key prefix of a field ('f' or 'i', field, 0) to
	// its entry in groups, the indexes of the field's terms: Prefix, Facet
	// and Present enumerate a field without scanning every term.
	groupIdx map[string]int
	groups   [][]uint32
	postings int // total postings, for Stats and sizing

	touched uint64 // written by touch only, to keep its loads
}

// memTerm is one term: its key in memChunk.keys and its postings, the first
// inline and the rest in a chain of blocks in memChunk.pool.
type memTerm struct {
	off, klen uint32 // key = keys[off : off+klen]
	n         uint32 // number of postings
	first     uint16 // first posting
	last      uint16 // last posting, to drop a term repeated in one event
	head      uint32 // pool offset of the first block (n >= 2)
	tail      uint32 // pool offset of the block being filled
	tailUsed  uint16 // postings in the tail block
	tailBlk   uint8  // number of the tail block in the chain
}

// Block k of a chain holds blockCap(k) postings followed by two slots with
// the pool offset of block k+1 (low half first). Blocks double in size so
// that rare terms waste little and common ones need few links.
const maxBlockShift = 8

func blockCap(k int) int { return 4 << min(k, maxBlockShift-2) }

func newMemChunk(base uint64, seed maphash.Seed) *memChunk {
	return &memChunk{
		base:     base,
		tmin:     math.MaxInt64,
		tmax:     math.MinInt64,
		seed:     seed,
		slots:    make([]uint64, 1<<12),
		groupIdx: make(map[string]int),
	}
}

// presize gives m the capacity prev ended with (a little more for the
// growing slices), so that filling m, which likely resembles prev, does not
// rehash its table and copy its slices again and again.
func (m *memChunk) presize(prev *memChunk) {
	grow := func(n int) int { return n + n/8 }
	m.slots = make([]uint64, len(prev.slots))
	m.terms = make([]memTerm, 0, grow(len(prev.terms)))
	m.keys = make([]byte, 0, grow(len(prev.keys)))
	m.pool = make([]uint16, 0, grow(len(prev.pool)))
	m.times = make([]int64, 0, cap(prev.times))
}

// add records the event at the next position with the extracted terms.
func (m *memChunk) add(e *extractor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pos := uint16(m.n)
	// Hash every key first, and load each key's home slot and the term it
	// holds before inserting any: the loads are independent, so their cache
	// misses overlap instead of coming one after the other.
	hs := e.hashes[:0]
	for i := range e.ends {
		hs = append(hs, maphash.Bytes(m.seed, e.key(i)))
	}
	e.hashes = hs
	m.touch(hs)
	for i, h := range hs {
		m.addPosting(h, e.key(i), pos)
	}
	m.times = append(m.times, e.time)
	m.tmin = min(m.tmin, e.time)
	m.tmax = max(m.tmax, e.time)
	m.n++
}

// touch loads the home slot of each hash in hs, then the term each of
// those slots holds, and keeps a sum of what it read in m.touched so that
// the loads are not optimized away. It changes nothing else.
func (m *memChunk) touch(hs []uint64) {
	mask := len(m.slots) - 1
	var sum uint64
	for _, h := range hs {
		sum += m.slots[int(h)&mask]
	}
	for _, h := range hs {
		if s := m.slots[int(h)&mask]; s != 0 {
			sum += uint64(m.terms[uint32(s)-1].off)
		}
	}
	m.touched += sum
}

// addPosting adds pos to the postings of the term with key, whose hash is
// h, creating the term if it is new.
func (m *memChunk) addPosting(h uint64, key []byte, pos uint16) {
	ti := m.findOrInsert(h, key)
	t := &m.terms[ti]
	switch {
	case t.n == 0:
		t.first = pos
	case t.last == pos:
		return // the same term twice in one event
	case t.n == 1:
		off := m.allocBlock(0)
		t.head, t.tail, t.tailBlk = off, off, 0
		m.pool[off] = pos
		t.tailUsed = 1
	default:
		c := blockCap(int(t.tailBlk))
		if int(t.tailUsed) == c {
			off := m.allocBlock(int(t.tailBlk) + 1)
			m.pool[int(t.tail)+c] = uint16(off)
			m.pool[int(t.tail)+c+1] = uint16(off >> 16)
			t.tail = off
			t.tailBlk = uint8(min(int(t.tailBlk)+1, maxBlockShift-2)) // capacities stop growing there
			t.tailUsed = 0
		}
		m.pool[int(t.tail)+int(t.tailUsed)] = pos
		t.tailUsed++
	}
	t.n++
	t.last = pos
	m.postings++
}

func (m *memChunk) allocBlock(k int) uint32 {
	off := len(m.pool)
	need := blockCap(k) + 2
	if cap(m.pool)-off < need {
		grown := make([]uint16, off, max(2*cap(m.pool), off+need, 1<<16))
		copy(grown, m.pool)
		m.pool = grown
	}
	m.pool = m.pool[:off+need]
	return uint32(off)
}

func (m *memChunk) termKey(ti uint32) []byte {
	t := &m.terms[ti]
	return m.keys[t.off : t.off+t.klen]
}

// find returns the index of the term with key, or -1.
func (m *memChunk) find(key []byte) int {
	h := maphash.Bytes(m.seed, key)
	mask := len(m.slots) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := m.slots[i]
		if s == 0 {
			return -1
		}
		if s>>32 == tag && bytes.Equal(m.termKey(uint32(s)-1), key) {
			return int(uint32(s) - 1)
		}
	}
}

func (m *memChunk) findOrInsert(h uint64, key []byte) uint32 {
	mask := len(m.slots) - 1
	tag := h >> 32
	i := int(h) & mask
	for {
		s := m.slots[i]
		if s == 0 {
			break
		}
		if s>>32 == tag && bytes.Equal(m.termKey(uint32(s)-1), key) {
			return uint32(s) - 1
		}
		i = (i + 1) & mask
	}
	ti := uint32(len(m.terms))
	m.terms = append(m.terms, memTerm{off: uint32(len(m.keys)), klen: uint32(len(key))})
	m.keys = append(m.keys, key...)
	m.slots[i] = tag<<32 | uint64(ti+1)
	if key[0] != nsText {
		m.addToGroup(key, ti)
	}
	if 2*len(m.terms) > len(m.slots) {
		m.grow()
	}
	return ti
}

func (m *memChunk) addToGroup(key []byte, ti uint32) {
	g := key[:bytes.IndexByte(key, 0)+1]
	gi, ok := m.groupIdx[string(g)]
	if !ok {
		gi = len(m.groups)
		m.groupIdx[string(g)] = gi
		m.groups = append(m.groups, nil)
	}
	m.groups[gi] = append(m.groups[gi], ti)
}

func (m *memChunk) grow() {
	slots := make([]uint64, 2*len(m.slots))
	mask := len(slots) - 1
	for ti := range m.terms {
		h := maphash.Bytes(m.seed, m.termKey(uint32(ti)))
		i := int(h) & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = h>>32<<32 | uint64(ti+1)
	}
	m.slots = slots
}

// each calls fn with the postings of term ti below limit, in order, until
// fn returns false.
func (m *memChunk) each(ti uint32, limit int, fn func(pos int) bool) {
	t := &m.terms[ti]
	if t.n == 0 || int(t.first) >= limit || !fn(int(t.first)) {
		return
	}
	left := int(t.n) - 1
	b, k := int(t.head), 0
	for left > 0 {
		c := blockCap(k)
		for _, p := range m.pool[b : b+min(c, left)] {
			if int(p) >= limit || !fn(int(p)) {
				return
			}
		}
		left -= c
		if left > 0 {
			b = int(m.pool[b+c]) | int(m.pool[b+c+1])<<16
			k++
		}
	}
}

// orTerm sets the postings of term ti below limit in dst.
func (m *memChunk) orTerm(ti uint32, limit int, dst *Bitmap) {
	m.each(ti, limit, func(pos int) bool { dst.Set(pos); return true })
}

// countTerm counts the postings of term ti below limit that are in mask
// (all of them when mask is nil).
func (m *memChunk) countTerm(ti uint32, limit int, mask *Bitmap) int {
	n := 0
	m.each(ti, limit, func(pos int) bool {
		if mask == nil || mask.Has(pos) {
			n++
		}
		return true
	})
	return n
}

// postingsOf appends the postings of term ti to dst (all of them: the chunk
// is frozen when it is encoded).
// It walks the chain as each does, copying whole blocks.
func (m *memChunk) postingsOf(dst []uint16, ti uint32) []uint16 {
	t := &m.terms[ti]
	if t.n == 0 {
		return dst
	}
	dst = append(dst, t.first)
	left := int(t.n) - 1
	b, k := int(t.head), 0
	for left > 0 {
		c := blockCap(k)
		dst = append(dst, m.pool[b:b+min(c, left)]...)
		left -= c
		if left > 0 {
			b = int(m.pool[b+c]) | int(m.pool[b+c+1])<<16
			k++
		}
	}
	return dst
}

// group returns the term indexes of the field whose key prefix is g.
func (m *memChunk) group(g []byte) []uint32 {
	gi, ok := m.groupIdx[string(g)]
	if !ok {
		return nil
	}
	return m.groups[gi]
}

// memBytes estimates the memory m holds.
func (m *memChunk) memBytes() int64 {
	n := cap(m.times)*8 + cap(m.keys) + cap(m.terms)*32 + cap(m.slots)*8 + cap(m.pool)*2
	for _, g := range m.groups {
		n += cap(g)*4 + 64
	}
	return int64(n)
}
