package search

import (
	"bytes"
	"encoding/binary"
)

// parseHeader checks a chunk file's header against the file size.
func parseHeader(b []byte, size int64, name string) (header, error) {
	var h header
	if len(b) < headerSize || size < headerSize {
		return h, corruptf(name, 0, "file of %d bytes is shorter than the header", size)
	}
	le := binary.LittleEndian
	if string(b[:8]) != fileMagic {
		return h, corruptf(name, 0, "bad magic %q", b[:8])
	}
	if got := le.Uint32(b[88:]); got != crc(b[:88]) {
		return h, corruptf(name, 88, "header crc32c mismatch")
	}
	if v := le.Uint32(b[8:]); v != fileVersion {
		return h, corruptf(name, 8, "unsupported version %d", v)
	}
	h.chunkSize = int(le.Uint32(b[12:]))
	h.base = le.Uint64(b[16:])
	h.count = int(le.Uint32(b[24:]))
	h.blocks = int(le.Uint32(b[28:]))
	h.terms = int(le.Uint32(b[32:]))
	h.minTime = int64(le.Uint64(b[40:]))
	h.maxTime = int64(le.Uint64(b[48:]))
	lens := [4]uint64{le.Uint64(b[56:]), le.Uint64(b[64:]), le.Uint64(b[72:]), le.Uint64(b[80:])}
	switch {
	case h.chunkSize < 64 || h.chunkSize > ChunkSize || h.chunkSize&(h.chunkSize-1) != 0:
		return h, corruptf(name, 12, "chunk size %d", h.chunkSize)
	case h.base%uint64(h.chunkSize) != 0:
		return h, corruptf(name, 16, "base %d is not a multiple of the chunk size", h.base)
	case h.count < 1 || h.count > h.chunkSize:
		return h, corruptf(name, 24, "event count %d", h.count)
	case le.Uint32(b[36:]) != 0 || le.Uint32(b[92:]) != 0:
		return h, corruptf(name, 36, "reserved field not zero")
	case h.minTime > h.maxTime:
		return h, corruptf(name, 40, "min time after max time")
	}
	total := uint64(headerSize)
	for i, l := range lens {
		if l > uint64(size) || total+l > uint64(size) {
			return h, corruptf(name, 56+8*int64(i), "section length %d exceeds the file", l)
		}
		total += l
	}
	if total != uint64(size) {
		return h, corruptf(name, 56, "sections end at %d, file has %d bytes", total, size)
	}
	h.timeLen, h.dictLen, h.postLen, h.indexLen = int64(lens[0]), int64(lens[1]), int64(lens[2]), int64(lens[3])
	if h.timeLen < crcSize || h.indexLen < crcSize {
		return h, corruptf(name, 56, "section too short for its crc32c")
	}
	return h, nil
}

// crcCheck verifies a section or block whose last 4 bytes are the CRC32C
// of the rest, and returns the rest.
type crcCheck func(b []byte, name string, off int64, what string) ([]byte, error)

func verifyCRC(b []byte, name string, off int64, what string) ([]byte, error) {
	if len(b) < crcSize {
		return nil, corruptf(name, off, "%s shorter than its crc32c", what)
	}
	body := b[:len(b)-crcSize]
	if binary.LittleEndian.Uint32(b[len(body):]) != crc(body) {
		return nil, corruptf(name, off, "%s crc32c mismatch", what)
	}
	return body, nil
}

// ignoreCRC is verifyCRC without the check, so that the fuzzer reaches the
// structural checks behind the CRCs.
func ignoreCRC(b []byte, name string, off int64, what string) ([]byte, error) {
	if len(b) < crcSize {
		return nil, corruptf(name, off, "%s shorter than its crc32c", what)
	}
	return b[:len(b)-crcSize], nil
}

// blockRef locates one dictionary block and the external postings of its
// entries.
type blockRef struct {
	dictOff int64  // file offset of the block
	postOff int64  // file offset of its first external postings list
	dictLen uint32 // block bytes including the CRC
	postLen uint32 // bytes of its external postings, CRCs included
}

// summary is what a sealed chunk keeps in memory: the header and, for each
// dictionary block, its location and first key.
type summary struct {
	h       header
	blocks  []blockRef
	keys    []byte   // first keys of the blocks, concatenated
	keyEnds []uint32 // end of each block's first key in keys
}

func (s *summary) firstKey(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = s.keyEnds[i-1]
	}
	return s.keys[start:s.keyEnds[i]]
}

// memBytes estimates the memory s holds.
func (s *summary) memBytes() int64 {
	return int64(cap(s.blocks)*24 + cap(s.keys) + cap(s.keyEnds)*4 + 256)
}

// decodeChunk checks a whole chunk file held in b and returns its summary.
// It verifies every CRC (unless skipCRC, which lets the fuzzer reach the
// structural checks) and the structure of every section: sorted unique
// keys, postings lists that are strictly increasing within the chunk with
// the stated counts, external postings that tile the postings section
// exactly, and times within the stated bounds that reach both. Queries on
// a file that passes can fail only on I/O errors or on damage done after
// the check, which the CRCs they verify again catch.
func decodeChunk(b []byte, name string, skipCRC bool) (*summary, error) {
	h, err := parseHeader(b, int64(len(b)), name)
	if err != nil {
		return nil, err
	}
	check := crcCheck(verifyCRC)
	if skipCRC {
		check = ignoreCRC
	}
	s := &summary{h: h}
	if err := s.checkTimes(b[h.timeOff():h.dictOff()], name, check); err != nil {
		return nil, err
	}
	if err := s.parseIndex(b[h.indexOff():], name, check); err != nil {
		return nil, err
	}
	if err := s.checkDictionary(b, name, check); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *summary) checkTimes(sec []byte, name string, check crcCheck) error {
	off := s.h.timeOff()
	col, err := check(sec, name, off, "time column")
	if err != nil {
		return err
	}
	sawMin, sawMax := false, false
	bad, ok := decodeTimes(col, s.h.count, s.h.minTime, s.h.maxTime, func(_ int, t int64) {
		sawMin = sawMin || t == s.h.minTime
		sawMax = sawMax || t == s.h.maxTime
	})
	if !ok {
		return corruptf(name, off+int64(bad), "malformed time column")
	}
	if !sawMin || !sawMax {
		return corruptf(name, 40, "time bounds not reached by any event")
	}
	return nil
}

// parseIndex reads the index section into s.blocks and the first keys.
func (s *summary) parseIndex(sec []byte, name string, check crcCheck) error {
	off := s.h.indexOff()
	body, err := check(sec, name, off, "index section")
	if err != nil {
		return err
	}
	if s.h.blocks > len(body)/3 { // an index entry takes at least 3 bytes
		return corruptf(name, 28, "%d blocks cannot fit the index section", s.h.blocks)
	}
	s.blocks = make([]blockRef, 0, s.h.blocks)
	dictAt, postAt := s.h.dictOff(), s.h.postOff()
	i := 0
	for range s.h.blocks {
		kl, n := binary.Uvarint(body[i:])
		if n <= 0 || kl == 0 || kl > uint64(len(body)-i-n) {
			return corruptf(name, off+int64(i), "bad first key length in index")
		}
		i += n
		key := body[i : i+int(kl)]
		if len(s.blocks) > 0 && bytes.Compare(key, s.firstKey(len(s.blocks)-1)) <= 0 {
			return corruptf(name, off+int64(i), "block keys out of order in index")
		}
		s.keys = append(s.keys, key...)
		s.keyEnds = append(s.keyEnds, uint32(len(s.keys)))
		i += int(kl)
		dl, n1 := binary.Uvarint(body[i:])
		if n1 <= 0 || dl <= crcSize || dl > 1<<31 {
			return corruptf(name, off+int64(i), "bad block length in index")
		}
		i += n1
		pl, n2 := binary.Uvarint(body[i:])
		if n2 <= 0 || pl > 1<<31 {
			return corruptf(name, off+int64(i), "bad postings length in index")
		}
		i += n2
		s.blocks = append(s.blocks, blockRef{dictOff: dictAt, postOff: postAt, dictLen: uint32(dl), postLen: uint32(pl)})
		dictAt += int64(dl)
		postAt += int64(pl)
		if dictAt > s.h.postOff() || postAt > s.h.indexOff() {
			return corruptf(name, off+int64(i), "index points past its section")
		}
	}
	if i != len(body) {
		return corruptf(name, off+int64(i), "%d bytes after the last index entry", len(body)-i)
	}
	if dictAt != s.h.postOff() || postAt != s.h.indexOff() {
		return corruptf(name, off, "index does not cover the dictionary and postings exactly")
	}
	return nil
}

// checkDictionary walks every dictionary entry and postings list.
func (s *summary) checkDictionary(b []byte, name string, check crcCheck) error {
	var prev []byte
	terms := 0
	var it blockIter
	for bi, ref := range s.blocks {
		body, err := check(b[ref.dictOff:ref.dictOff+int64(ref.dictLen)], name, ref.dictOff, "dictionary block")
		if err != nil {
			return err
		}
		it.reset(&s.h, ref, body, name)
		for {
			e, err := it.next()
			if err != nil {
				return err
			}
			if e == nil {
				break
			}
			if it.n == 1 && !bytes.Equal(e.key, s.firstKey(bi)) {
				return corruptf(name, ref.dictOff, "block's first key differs from the index")
			}
			if terms > 0 && bytes.Compare(e.key, prev) <= 0 {
				return corruptf(name, it.entryOff, "keys out of order")
			}
			if e.key[0] != nsField && e.key[0] != nsIP && e.key[0] != nsText {
				return corruptf(name, it.entryOff, "unknown key namespace %#x", e.key[0])
			}
			prev = append(prev[:0], e.key...)
			terms++
			p := postings{count: e.count, kind: e.kind, single: e.single, n: s.h.count, data: e.data}
			if e.kind == kindList || e.kind == kindBitmap {
				p.data, err = check(b[e.ext:e.ext+int64(e.size)+crcSize], name, e.ext, "postings list")
				if err != nil {
					return err
				}
			}
			if err := p.validate(); err != nil {
				return corruptf(name, it.entryOff, "%v", err)
			}
		}
		if it.ext != it.extEnd {
			return corruptf(name, ref.dictOff, "block's postings do not fill its share of the postings section")
		}
	}
	if terms != s.h.terms {
		return corruptf(name, 32, "header says %d terms, dictionary has %d", s.h.terms, terms)
	}
	return nil
}

// entry is one decoded dictionary entry. key and data alias the iterator's
// buffers and are valid until its next call.
type entry struct {
	key    []byte
	count  int    // postings
	kind   int    // kindSingle, kindInline, kindList or kindBitmap
	single uint16 // kindSingle: the position
	data   []byte // kindInline: the delta list
	ext    int64  // kindList, kindBitmap: file offset of the payload
	size   int    // kindList, kindBitmap: payload bytes, CRC not included
}

// blockIter decodes the entries of one dictionary block, checking every
// bound, so that a damaged block yields an error and never a panic.
type blockIter struct {
	h        *header
	b        []byte // block body, CRC removed
	off      int
	name     string
	boff     int64 // file offset of the block
	entryOff int64 // file offset of the current entry
	ext      int64 // file offset of the next external payload
	extEnd   int64
	n        int // entries decoded
	e        entry
}

func (it *blockIter) reset(h *header, ref blockRef, body []byte, name string) {
	*it = blockIter{h: h, b: body, name: name, boff: ref.dictOff, ext: ref.postOff,
		extEnd: ref.postOff + int64(ref.postLen), e: entry{key: it.e.key[:0]}}
}

func (it *blockIter) uvarint() (uint64, bool) {
	if it.off < len(it.b) && it.b[it.off] < 0x80 {
		it.off++
		return uint64(it.b[it.off-1]), true
	}
	v, n := binary.Uvarint(it.b[it.off:])
	if n <= 0 {
		return 0, false
	}
	it.off += n
	return v, true
}

// next returns the next entry, or nil at the end of the block.
func (it *blockIter) next() (*entry, error) {
	if it.off >= len(it.b) {
		if it.n == 0 {
			return nil, corruptf(it.name, it.boff, "empty dictionary block")
		}
		return nil, nil
	}
	it.entryOff = it.boff + int64(it.off)
	bad := func(what string) error { return corruptf(it.name, it.entryOff, "dictionary entry: %s", what) }
	e := &it.e
	shared, ok1 := it.uvarint()
	suffix, ok2 := it.uvarint()
	switch {
	case !ok1 || !ok2:
		return nil, bad("truncated key lengths")
	case shared > uint64(len(e.key)) || it.n == 0 && shared != 0:
		return nil, bad("shared prefix longer than the previous key")
	case suffix > uint64(len(it.b)-it.off) || shared+suffix == 0:
		return nil, bad("bad key suffix length")
	}
	e.key = append(e.key[:shared], it.b[it.off:it.off+int(suffix)]...)
	it.off += int(suffix)
	count, ok := it.uvarint()
	if !ok || count == 0 || count > uint64(it.h.count) {
		return nil, bad("bad postings count")
	}
	e.count, e.data = int(count), nil
	if count == 1 {
		if len(it.b)-it.off < 2 {
			return nil, bad("truncated position")
		}
		e.kind = kindSingle
		e.single = binary.LittleEndian.Uint16(it.b[it.off:])
		it.off += 2
		it.n++
		return e, nil
	}
	desc, ok := it.uvarint()
	if !ok {
		return nil, bad("truncated postings descriptor")
	}
	e.kind, e.size = int(desc&3), int(min(desc>>2, 1<<31))
	switch e.kind {
	case kindInline:
		if e.size > len(it.b)-it.off {
			return nil, bad("inline postings past the block")
		}
		e.data = it.b[it.off : it.off+e.size]
		it.off += e.size
	case kindList, kindBitmap:
		if e.kind == kindBitmap && e.size != it.h.bitmapSize() || e.size == 0 {
			return nil, bad("bad postings size")
		}
		if int64(e.size)+crcSize > it.extEnd-it.ext {
			return nil, bad("postings past the block's share of the postings section")
		}
		e.ext = it.ext
		it.ext += int64(e.size) + crcSize
	default:
		return nil, bad("unknown postings kind")
	}
	it.n++
	return e, nil
}
