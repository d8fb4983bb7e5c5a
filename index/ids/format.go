package ids

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Run file layout, version 1. See the package documentation for the prose.
const (
	blockSize       = 4096
	blockDataSize   = blockSize - 4 // the last 4 bytes of every block are its CRC32C
	entrySize       = 12            // hash u64, seq-first u32
	entriesPerBlock = blockDataSize / entrySize
	formatVersion   = 1
	runMagic        = "STLIDRUN"
	// maxRunEntries bounds a run so that seq-first fits the entry's u32.
	maxRunEntries = 1 << 32

	hdrMagic     = 0
	hdrVersion   = 8
	hdrBlockSize = 12
	hdrSeed      = 16
	hdrFirst     = 24
	hdrEnd       = 32
	hdrUsed      = 40 // bytes [hdrUsed, blockDataSize) are zero
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zeroBlock is compared against padding and reserved bytes; never written.
var zeroBlock [blockSize]byte

// firstNonZero returns the index of the first nonzero byte in b, or -1. b is
// at most blockSize long.
func firstNonZero(b []byte) int {
	if bytes.Equal(b, zeroBlock[:len(b)]) {
		return -1
	}
	return slices.IndexFunc(b, func(c byte) bool { return c != 0 })
}

// runHeader is the content of a run file's header block.
type runHeader struct {
	seed  uint64 // hash seed of the index the run belongs to
	first uint64 // first seq in the run
	end   uint64 // one past the last seq; the run holds end-first entries
}

func (h runHeader) count() uint64 { return h.end - h.first }

// dataBlocks is the number of data blocks that hold count entries.
func dataBlocks(count uint64) uint64 {
	return (count + entriesPerBlock - 1) / entriesPerBlock
}

// runFileSize is the exact size of a run file of count entries.
func runFileSize(count uint64) int64 { return int64(dataBlocks(count)+1) * blockSize }

// sealBlock writes the CRC32C of b[:blockDataSize] into b's last 4 bytes.
func sealBlock(b []byte) {
	binary.LittleEndian.PutUint32(b[blockDataSize:], crc32.Checksum(b[:blockDataSize], castagnoli))
}

func blockCRCOK(b []byte) bool {
	return binary.LittleEndian.Uint32(b[blockDataSize:]) == crc32.Checksum(b[:blockDataSize], castagnoli)
}

// encodeHeader fills the header block b (blockSize bytes, zeroed).
func encodeHeader(b []byte, h runHeader) {
	copy(b[hdrMagic:], runMagic)
	binary.LittleEndian.PutUint32(b[hdrVersion:], formatVersion)
	binary.LittleEndian.PutUint32(b[hdrBlockSize:], blockSize)
	binary.LittleEndian.PutUint64(b[hdrSeed:], h.seed)
	binary.LittleEndian.PutUint64(b[hdrFirst:], h.first)
	binary.LittleEndian.PutUint64(b[hdrEnd:], h.end)
	sealBlock(b)
}

// decodeHeader checks and decodes the header block b of file.
func decodeHeader(file string, b []byte) (runHeader, error) {
	if string(b[hdrMagic:hdrMagic+len(runMagic)]) != runMagic {
		return runHeader{}, corruptf(file, hdrMagic, "bad magic %q", b[:len(runMagic)])
	}
	if !blockCRCOK(b) {
		return runHeader{}, corruptf(file, 0, "header crc32c mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[hdrVersion:]); v != formatVersion {
		return runHeader{}, corruptf(file, hdrVersion, "unsupported version %d", v)
	}
	if s := binary.LittleEndian.Uint32(b[hdrBlockSize:]); s != blockSize {
		return runHeader{}, corruptf(file, hdrBlockSize, "block size %d, want %d", s, blockSize)
	}
	h := runHeader{
		seed:  binary.LittleEndian.Uint64(b[hdrSeed:]),
		first: binary.LittleEndian.Uint64(b[hdrFirst:]),
		end:   binary.LittleEndian.Uint64(b[hdrEnd:]),
	}
	if h.end <= h.first || h.end-h.first > maxRunEntries {
		return runHeader{}, corruptf(file, hdrFirst, "bad seq range [%d, %d)", h.first, h.end)
	}
	if i := firstNonZero(b[hdrUsed:blockDataSize]); i >= 0 {
		return runHeader{}, corruptf(file, int64(hdrUsed+i), "nonzero reserved byte")
	}
	return h, nil
}

// runWriter streams entries, in run order, into a run file. It builds the
// run's fences and bloom filter as it goes, and buffers whole blocks so that
// the file is written in large sequential writes.
type runWriter struct {
	w       io.Writer
	hdr     runHeader
	buf     []byte // sealed blocks not yet written
	block   [blockSize]byte
	inBlock int    // entries in block
	written uint64 // entries added
	prev    entry
	fences  []uint64
	filter  bloom
}

// writeChunk is how many bytes runWriter and blockScanner move per I/O.
const writeChunk = 64 * blockSize

func newRunWriter(w io.Writer, hdr runHeader) *runWriter {
	count := hdr.count()
	rw := &runWriter{
		w:      w,
		hdr:    hdr,
		buf:    make([]byte, blockSize, min(writeChunk, runFileSize(count))),
		fences: make([]uint64, 0, dataBlocks(count)),
		filter: newBloom(count, bloomBitsPerKey(count)),
	}
	encodeHeader(rw.buf, hdr)
	return rw
}

// add appends e; entries must come in strictly increasing run order, one per
// seq in [hdr.first, hdr.end).
func (rw *runWriter) add(e entry) error {
	if rw.written == rw.hdr.count() {
		return fmt.Errorf("ids: internal: more than %d entries for run [%d, %d)", rw.hdr.count(), rw.hdr.first, rw.hdr.end)
	}
	if e.seq < rw.hdr.first || e.seq >= rw.hdr.end {
		return fmt.Errorf("ids: internal: seq %d outside run [%d, %d)", e.seq, rw.hdr.first, rw.hdr.end)
	}
	if rw.written > 0 && compareEntries(rw.prev, e) >= 0 {
		return fmt.Errorf("ids: internal: entries out of order at seq %d", e.seq)
	}
	rw.prev = e
	rw.written++
	if rw.inBlock == 0 {
		rw.fences = append(rw.fences, e.hash)
	}
	off := rw.inBlock * entrySize
	binary.LittleEndian.PutUint64(rw.block[off:], e.hash)
	binary.LittleEndian.PutUint32(rw.block[off+8:], uint32(e.seq-rw.hdr.first))
	rw.filter.add(e.hash)
	rw.inBlock++
	if rw.inBlock == entriesPerBlock {
		return rw.endBlock()
	}
	return nil
}

func (rw *runWriter) endBlock() error {
	sealBlock(rw.block[:])
	rw.buf = append(rw.buf, rw.block[:]...)
	rw.block = [blockSize]byte{}
	rw.inBlock = 0
	if len(rw.buf) >= writeChunk {
		return rw.drain()
	}
	return nil
}

func (rw *runWriter) drain() error {
	_, err := rw.w.Write(rw.buf)
	rw.buf = rw.buf[:0]
	return err
}

// finish writes the last partial block and everything buffered. The caller
// still has to sync the file.
func (rw *runWriter) finish() error {
	if rw.written != rw.hdr.count() {
		return fmt.Errorf("ids: internal: %d entries for run [%d, %d)", rw.written, rw.hdr.first, rw.hdr.end)
	}
	if rw.inBlock > 0 {
		if err := rw.endBlock(); err != nil {
			return err
		}
	}
	return rw.drain()
}

// runFileName is the name of the run file for [first, end).
func runFileName(first, end uint64) string {
	return fmt.Sprintf("run-%016x-%016x.ids", first, end)
}

// parseRunFileName is the inverse of runFileName; it accepts only the exact
// form runFileName produces.
func parseRunFileName(name string) (first, end uint64, ok bool) {
	s, found := strings.CutPrefix(name, "run-")
	if !found {
		return 0, 0, false
	}
	s, found = strings.CutSuffix(s, ".ids")
	if !found || len(s) != 33 || s[16] != '-' {
		return 0, 0, false
	}
	first, err1 := strconv.ParseUint(s[:16], 16, 64)
	end, err2 := strconv.ParseUint(s[17:], 16, 64)
	if err1 != nil || err2 != nil || runFileName(first, end) != name || end <= first {
		return 0, 0, false
	}
	return first, end, true
}
