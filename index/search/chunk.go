package search

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strconv"
)

// Chunk is a read view of the events [Base(), Base()+Len()): a sealed chunk
// or a frozen prefix of the chunk being filled. Its methods OR positions
// into caller-owned Bitmaps (bit p is seq Base()+p) and are safe for
// concurrent use, also concurrently with Add. A Chunk is valid until the
// Snapshot it came from is closed.
//
// Matching is case-insensitive: values are lowercased as strings.ToLower
// does. Field names are dotted paths as stele.RecordFields reports them.
type Chunk struct {
	base       uint64
	n          int
	tmin, tmax int64
	src        source
}

// source is where a Chunk's terms live: a sealed file or a memChunk.
type source interface {
	// lookup calls fn with the postings of key, if present.
	lookup(key []byte, fn func(p *postings) error) error
	// scan calls fn with every term whose key starts with prefix (which
	// includes the field's zero byte for field and IP keys).
	scan(prefix []byte, fn func(key []byte, p *postings) error) error
	// times calls fn with every event's time.
	times(fn func(pos int, t int64)) error
}

func sealedChunk(s *sealed) *Chunk {
	return &Chunk{base: s.h.base, n: s.h.count, tmin: s.h.minTime, tmax: s.h.maxTime, src: s}
}

// Base returns the seq of position 0.
func (c *Chunk) Base() uint64 { return c.base }

// Len returns the number of events in the view.
func (c *Chunk) Len() int { return c.n }

// TimeBounds returns the smallest and largest event time (unix seconds,
// rounded down) in the view. For an empty view min > max.
func (c *Chunk) TimeBounds() (min, max int64) { return c.tmin, c.tmax }

// TimeMask sets the positions of the events whose time, in unix seconds
// rounded down, is in [from, to). For a query on sub-second bounds pass
// floor(from) and the ceiling of to, and check the events' times exactly.
func (c *Chunk) TimeMask(from, to int64, dst *Bitmap) error {
	switch {
	case c.n == 0 || from >= to || to <= c.tmin || from > c.tmax:
		return nil
	case from <= c.tmin && c.tmax < to:
		dst.SetRange(0, c.n)
		return nil
	}
	return c.src.times(func(pos int, t int64) {
		if from <= t && t < to {
			dst.Set(pos)
		}
	})
}

// Times calls fn with the time (unix seconds, rounded down) of every event
// in the view whose position is in mask (every event when mask is nil), in
// position order; for histograms.
func (c *Chunk) Times(mask *Bitmap, fn func(pos int, t int64)) error {
	return c.src.times(func(pos int, t int64) {
		if mask == nil || mask.Has(pos) {
			fn(pos, t)
		}
	})
}

// Term ORs into dst the events with a leaf at field whose lowercased value
// is value (lowercased here). Numbers, booleans and null match their
// canonical JSON text. exact is false when value is longer than
// MaxValueLen: the result then includes every value sharing the indexed
// prefix, and the caller must check the events.
func (c *Chunk) Term(field, value string, dst *Bitmap) (exact bool, err error) {
	var kb [160]byte
	key, exact := fieldKey(kb[:0], field, lowerString(value))
	return exact, c.src.lookup(key, func(p *postings) error { return p.or(dst) })
}

// Prefix ORs into dst the events with a leaf at field whose lowercased
// value starts with prefix (lowercased here). exact is false only when
// prefix is longer than MaxValueLen.
func (c *Chunk) Prefix(field, prefix string, dst *Bitmap) (exact bool, err error) {
	low := lowerString(prefix)
	var kb [160]byte
	key := fieldPrefix(kb[:0], nsField, field)
	values := len(key)
	if len(low) > MaxValueLen {
		// Every such value is longer than MaxValueLen, so it is indexed by
		// a truncation that agrees with prefix up to the shorter of the two
		// (for a valid UTF-8 prefix, exactly the truncation of prefix).
		key = append(key, low[:MaxValueLen+1]...)
		return false, c.src.scan(key, func(k []byte, p *postings) error {
			v := k[values:]
			if len(v) > MaxValueLen && (bytes.HasPrefix(v, low) || bytes.HasPrefix(low, v)) {
				return p.or(dst)
			}
			return nil
		})
	}
	key = append(key, low...)
	return true, c.src.scan(key, func(_ []byte, p *postings) error { return p.or(dst) })
}

// Token ORs into dst the events with the free-text token tok in a
// TextIndexed string. tok must be a token as internal/tokenize produces
// it (lowercase, at most tokenize.MaxToken bytes). The result is exact for
// the token; a phrase needs checking on the events.
func (c *Chunk) Token(tok string, dst *Bitmap) error {
	var kb [80]byte
	key := append(append(kb[:0], nsText), tok...)
	return c.src.lookup(key, func(p *postings) error { return p.or(dst) })
}

// Present ORs into dst the events that have at least one scalar leaf at
// field (any value, null included). Empty arrays and objects are not
// leaves.
func (c *Chunk) Present(field string, dst *Bitmap) error {
	var kb [96]byte
	return c.src.scan(fieldPrefix(kb[:0], nsField, field), func(_ []byte, p *postings) error { return p.or(dst) })
}

// Facet calls fn with every value of field in the view and the number of
// events inside mask (every event when mask is nil) that have it; values
// with no such event are skipped. Values come in no particular order; a
// value longer than MaxValueLen is a truncation (see Truncated) and its
// count covers every value it stands for.
func (c *Chunk) Facet(field string, mask *Bitmap, fn func(value string, count int)) error {
	var kb [96]byte
	prefix := fieldPrefix(kb[:0], nsField, field)
	type valueCount struct {
		value string
		count int
	}
	// Collected first, so that fn runs without the chunk's locks or
	// buffers and may query the chunk.
	var found []valueCount
	err := c.src.scan(prefix, func(key []byte, p *postings) error {
		n, err := p.countIn(mask)
		if err == nil && n > 0 {
			found = append(found, valueCount{string(key[len(prefix):]), n})
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, vc := range found {
		fn(vc.value, vc.count)
	}
	return nil
}

// IP ORs into dst the events whose field (actor.ip or source.ip) holds an
// address in p. Prefixes follow net/netip: an IPv4 prefix never contains
// an IPv4-mapped IPv6 address, nor the reverse. The result is exact except
// for IPv6 prefixes longer than /64 (other than /128), which match every
// address in the enclosing /64.
func (c *Chunk) IP(field string, p netip.Prefix, dst *Bitmap) (exact bool, err error) {
	if !IPField(field) {
		return false, fmt.Errorf("%w: %q is not an address field", ErrInvalid, field)
	}
	if !p.IsValid() || p.Addr().Zone() != "" {
		return false, fmt.Errorf("%w: bad prefix %v", ErrInvalid, p)
	}
	p = p.Masked()
	addr, bits := p.Addr(), p.Bits()
	if bits == addr.BitLen() {
		return c.Term(field, addr.String(), dst)
	}
	if addr.Is4() && bits > 24 {
		// Finer than the finest prefix term: the dotted forms of the
		// addresses in p share the first three octets.
		a := addr.As4()
		var kb [96]byte
		key := fieldPrefix(kb[:0], nsField, field)
		values := len(key)
		key = strconv.AppendUint(key, uint64(a[0]), 10)
		key = append(strconv.AppendUint(append(key, '.'), uint64(a[1]), 10), '.')
		key = append(strconv.AppendUint(key, uint64(a[2]), 10), '.')
		return true, c.src.scan(key, func(k []byte, post *postings) error {
			v, ok := parseIPv4(k[values:])
			if ok && p.Contains(netip.AddrFrom4(v)) {
				return post.or(dst)
			}
			return nil
		})
	}
	levels := ipLevels6[:]
	var raw []byte
	var a16 [16]byte
	var a4 [4]byte
	if addr.Is4() {
		levels = ipLevels4[:]
		a4 = addr.As4()
		raw = a4[:]
	} else {
		a16 = addr.As16()
		raw = a16[:]
	}
	level := levels[len(levels)-1]
	for _, l := range levels {
		if l >= bits {
			level = l
			break
		}
	}
	exact = bits <= level
	whole := min(bits, level) / 8 // bytes of the address fixed by the prefix
	var kb [96]byte
	key := ipKey(kb[:0], []byte(field), raw, whole*8)
	key[len(key)-whole-1] = byte(level)
	start := len(key) - whole
	rest := min(bits, level) % 8 // bits of the next byte fixed by the prefix
	return exact, c.src.scan(key, func(k []byte, post *postings) error {
		if len(k) != start+level/8 {
			return nil
		}
		if rest > 0 && (k[start+whole]^raw[whole])>>(8-rest) != 0 {
			return nil
		}
		return post.or(dst)
	})
}

// memView is a memChunk seen by one snapshot: only its first n events.
type memView struct {
	m *memChunk
	n int
}

func memChunkView(m *memChunk) *Chunk {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c := &Chunk{base: m.base, n: m.n, tmin: m.tmin, tmax: m.tmax, src: memView{m, m.n}}
	if m.n == 0 {
		c.tmin, c.tmax = math.MaxInt64, math.MinInt64
	}
	return c
}

func (v memView) lookup(key []byte, fn func(p *postings) error) error {
	v.m.mu.RLock()
	defer v.m.mu.RUnlock()
	ti := v.m.find(key)
	if ti < 0 {
		return nil
	}
	return fn(&postings{mem: v.m, ti: uint32(ti), n: v.n})
}

func (v memView) scan(prefix []byte, fn func(key []byte, p *postings) error) error {
	v.m.mu.RLock()
	defer v.m.mu.RUnlock()
	visit := func(ti uint32) error {
		key := v.m.termKey(ti)
		if !bytes.HasPrefix(key, prefix) {
			return nil
		}
		return fn(key, &postings{mem: v.m, ti: ti, n: v.n})
	}
	if z := bytes.IndexByte(prefix, 0); z >= 0 {
		for _, ti := range v.m.group(prefix[:z+1]) {
			if err := visit(ti); err != nil {
				return err
			}
		}
		return nil
	}
	for ti := range v.m.terms {
		if err := visit(uint32(ti)); err != nil {
			return err
		}
	}
	return nil
}

func (v memView) times(fn func(pos int, t int64)) error {
	// Times below n never change, so they can be read without the lock
	// (and fn may call back into the chunk).
	v.m.mu.RLock()
	ts := v.m.times[:v.n]
	v.m.mu.RUnlock()
	for pos, t := range ts {
		fn(pos, t)
	}
	return nil
}
