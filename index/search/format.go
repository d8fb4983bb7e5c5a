package search

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
)

// The chunk file format is documented in docs/format-search.md; the
// constants below are its vocabulary.
const (
	fileMagic   = "STELESIX"
	fileVersion = 1
	headerSize  = 96
	crcSize     = 4

	// blockTarget is the size at which a dictionary block is closed. A
	// lookup reads one block, and every block's first key is kept in memory:
	// 4 KiB keeps both small (about 60 bytes of memory per 4 KiB of file).
	blockTarget = 4096
	// inlineMax is the largest postings list stored inside its dictionary
	// entry; longer lists go to the postings section with their own CRC.
	// Inline lists cost no extra read and no CRC; external ones keep
	// dictionary blocks small so that lookups and enumerations read little.
	inlineMax = 32
)

// Postings kinds, the low two bits of an entry's descriptor.
const (
	kindInline = 0 // delta list inside the entry
	kindList   = 1 // delta list in the postings section
	kindBitmap = 2 // bitmap in the postings section
	kindSingle = 3 // not in the descriptor: count 1, position stored raw
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func appendCRC(dst []byte, from int) []byte {
	return binary.LittleEndian.AppendUint32(dst, crc(dst[from:]))
}

// header is a chunk file's fixed header.
type header struct {
	chunkSize int    // events per full chunk (ChunkSize, smaller in tests)
	base      uint64 // seq of position 0
	count     int    // events in the chunk, 1..chunkSize
	blocks    int    // dictionary blocks
	terms     int    // dictionary entries
	minTime   int64  // unix seconds
	maxTime   int64
	timeLen   int64 // section lengths, each including its CRC (blocks: theirs)
	dictLen   int64
	postLen   int64
	indexLen  int64
}

func (h *header) timeOff() int64  { return headerSize }
func (h *header) dictOff() int64  { return h.timeOff() + h.timeLen }
func (h *header) postOff() int64  { return h.dictOff() + h.dictLen }
func (h *header) indexOff() int64 { return h.postOff() + h.postLen }
func (h *header) fileSize() int64 { return h.indexOff() + h.indexLen }
func (h *header) bitmapSize() int { return h.chunkSize / 8 }

func (h *header) append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, fileMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, fileVersion)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.chunkSize))
	dst = binary.LittleEndian.AppendUint64(dst, h.base)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.count))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.blocks))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.terms))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.minTime))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.maxTime))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.timeLen))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.dictLen))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.postLen))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.indexLen))
	dst = appendCRC(dst, start)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// appendList appends the delta encoding of a strictly increasing postings
// list: the first position, then each gap minus one, as uvarints.
func appendList(dst []byte, list []uint16) []byte {
	prev := -1
	for _, p := range list {
		dst = binary.AppendUvarint(dst, uint64(int(p)-prev-1))
		prev = int(p)
	}
	return dst
}

func appendBitmap(dst []byte, list []uint16, size int) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	bm := dst[start:]
	for _, p := range list {
		bm[p>>3] |= 1 << (p & 7)
	}
	return dst
}

// chunkWriter encodes one chunk file.
type chunkWriter struct {
	h       header
	dict    []byte // dictionary blocks
	post    []byte // postings section
	index   []byte // index section (without its CRC)
	block   int    // start of the open block in dict; -1 when none is open
	postAt  int    // len(post) when the open block started
	prevKey []byte // previous key in the open block
	scratch []byte
}

func newChunkWriter(chunkSize int, base uint64, count int) *chunkWriter {
	return &chunkWriter{h: header{chunkSize: chunkSize, base: base, count: count}, block: -1}
}

// addTerm appends the next term, in strictly increasing key order, with
// its postings.
func (w *chunkWriter) addTerm(key []byte, list []uint16) {
	if w.block < 0 {
		w.block, w.postAt = len(w.dict), len(w.post)
		w.index = binary.AppendUvarint(w.index, uint64(len(key)))
		w.index = append(w.index, key...)
		w.prevKey = w.prevKey[:0]
	}
	shared := commonPrefix(w.prevKey, key)
	w.dict = binary.AppendUvarint(w.dict, uint64(shared))
	w.dict = binary.AppendUvarint(w.dict, uint64(len(key)-shared))
	w.dict = append(w.dict, key[shared:]...)
	w.dict = binary.AppendUvarint(w.dict, uint64(len(list)))
	if len(list) == 1 {
		w.dict = binary.LittleEndian.AppendUint16(w.dict, list[0])
	} else {
		w.scratch = appendList(w.scratch[:0], list)
		switch {
		case len(w.scratch) <= inlineMax:
			w.dict = binary.AppendUvarint(w.dict, uint64(len(w.scratch))<<2|kindInline)
			w.dict = append(w.dict, w.scratch...)
		case len(w.scratch) < w.h.bitmapSize():
			w.dict = binary.AppendUvarint(w.dict, uint64(len(w.scratch))<<2|kindList)
			start := len(w.post)
			w.post = append(w.post, w.scratch...)
			w.post = appendCRC(w.post, start)
		default:
			w.dict = binary.AppendUvarint(w.dict, uint64(w.h.bitmapSize())<<2|kindBitmap)
			start := len(w.post)
			w.post = appendBitmap(w.post, list, w.h.bitmapSize())
			w.post = appendCRC(w.post, start)
		}
	}
	w.prevKey = append(w.prevKey[:0], key...)
	w.h.terms++
	if len(w.dict)-w.block >= blockTarget {
		w.closeBlock()
	}
}

func (w *chunkWriter) closeBlock() {
	if w.block < 0 {
		return
	}
	w.dict = appendCRC(w.dict, w.block)
	w.index = binary.AppendUvarint(w.index, uint64(len(w.dict)-w.block))
	w.index = binary.AppendUvarint(w.index, uint64(len(w.post)-w.postAt))
	w.h.blocks++
	w.block = -1
}

// finish returns the file: header, time column, dictionary, postings,
// index.
func (w *chunkWriter) finish(times []int64) []byte {
	w.closeBlock()
	w.h.minTime, w.h.maxTime = slices.Min(times), slices.Max(times)
	col := appendTimes(nil, times, w.h.minTime)
	col = appendCRC(col, 0)
	w.index = appendCRC(w.index, 0)
	w.h.timeLen, w.h.dictLen = int64(len(col)), int64(len(w.dict))
	w.h.postLen, w.h.indexLen = int64(len(w.post)), int64(len(w.index))
	out := make([]byte, 0, w.h.fileSize())
	out = w.h.append(out)
	out = append(out, col...)
	out = append(out, w.dict...)
	out = append(out, w.post...)
	return append(out, w.index...)
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// encodeMem encodes a full or partial frozen memChunk as a chunk file.
func encodeMem(m *memChunk, chunkSize int) []byte {
	order := sortedTerms(m)
	w := newChunkWriter(chunkSize, m.base, m.n)
	var list []uint16
	for _, ti := range order {
		list = m.postingsOf(list[:0], ti)
		w.addTerm(m.termKey(ti), list)
	}
	return w.finish(m.times[:m.n])
}

// sortedTerms returns the indexes of m's terms in key order. Keys sort by
// namespace, then field ('f' and 'i' keys: ns, field, 0, value; a field
// never contains a zero byte, so no group prefix is a prefix of another),
// then value, so it sorts the group prefixes, then each group's terms on
// what follows the prefix, then the free-text terms. Each sort compares the
// first 8 bytes of that rest, held in the sorted slice, and reads the keys
// only on a tie: most comparisons then touch no key memory.
func sortedTerms(m *memChunk) []uint32 {
	prefixes := make([]string, 0, len(m.groupIdx))
	for g := range m.groupIdx {
		prefixes = append(prefixes, g)
	}
	slices.Sort(prefixes)
	order := make([]uint32, 0, len(m.terms))
	var ks []sortKey
	for _, g := range prefixes {
		ks = ks[:0]
		for _, ti := range m.groups[m.groupIdx[g]] {
			ks = append(ks, sortKey{keyWord(m.termKey(ti)[len(g):]), ti})
		}
		order = sortKeys(m, order, ks, len(g))
	}
	ks = ks[:0]
	for ti := range m.terms {
		if k := m.termKey(uint32(ti)); k[0] == nsText {
			ks = append(ks, sortKey{keyWord(k[1:]), uint32(ti)})
		}
	}
	return sortKeys(m, order, ks, 1)
}

// sortKey is a term index with the first 8 bytes of its key after a
// shared prefix.
type sortKey struct {
	word uint64
	ti   uint32
}

// keyWord returns the first 8 bytes of b as a big-endian number, padded
// with zero bytes: a smaller word means a smaller b, and equal words
// decide nothing.
func keyWord(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.BigEndian.Uint64(b)
	}
	var w [8]byte
	copy(w[:], b)
	return binary.BigEndian.Uint64(w[:])
}

// sortKeys sorts ks, whose keys all share their first skip bytes, and
// appends their term indexes to order.
func sortKeys(m *memChunk, order []uint32, ks []sortKey, skip int) []uint32 {
	slices.SortFunc(ks, func(a, b sortKey) int {
		if a.word != b.word {
			if a.word < b.word {
				return -1
			}
			return 1
		}
		return bytes.Compare(m.termKey(a.ti)[skip:], m.termKey(b.ti)[skip:])
	})
	for _, k := range ks {
		order = append(order, k.ti)
	}
	return order
}
