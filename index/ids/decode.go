package ids

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// runIter streams the entries of a run file in run order, reading writeChunk
// bytes at a time and checking each data block's CRC32C and zero padding.
type runIter struct {
	r      io.ReaderAt
	file   string
	hdr    runHeader
	buf    []byte
	bufOff int64 // file offset of buf[0]
	blkOff int64 // file offset of the current block
	blk    []byte
	inBlk  int    // entries in blk
	pos    int    // next entry in blk
	left   uint64 // entries not yet returned
	cur    entry  // the current entry, with its absolute seq
	rel    uint64 // the current entry's stored seq-first
}

// newRunIter checks the header block of the run file read through r and
// positions the iterator before the first entry. size is the file's size.
func newRunIter(r io.ReaderAt, size int64, file string) (*runIter, error) {
	var hb [blockSize]byte
	if size < blockSize {
		return nil, corruptf(file, size, "file too short for a header: %d bytes", size)
	}
	if _, err := r.ReadAt(hb[:], 0); err != nil {
		return nil, readErr(file, 0, err)
	}
	hdr, err := decodeHeader(file, hb[:])
	if err != nil {
		return nil, err
	}
	if want := runFileSize(hdr.count()); size != want {
		return nil, corruptf(file, min(size, want), "file size %d, want %d for %d entries", size, want, hdr.count())
	}
	return &runIter{r: r, file: file, hdr: hdr, blkOff: 0, left: hdr.count()}, nil
}

// readErr wraps an error from reading file at off. A short read means the
// file is shorter than its header says, which is corruption.
func readErr(file string, off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf(file, off, "unexpected end of file")
	}
	return &readError{file: file, off: off, err: err}
}

type readError struct {
	file string
	off  int64
	err  error
}

func (e *readError) Error() string {
	return fmt.Sprintf("ids: read %s at offset %d: %v", e.file, e.off, e.err)
}
func (e *readError) Unwrap() error { return e.err }

// next advances to the next entry, available as it.cur. It returns false
// with a nil error at the end of the run.
func (it *runIter) next() (bool, error) {
	if it.left == 0 {
		return false, nil
	}
	if it.pos == it.inBlk {
		if err := it.loadBlock(); err != nil {
			return false, err
		}
	}
	off := it.pos * entrySize
	it.rel = uint64(binary.LittleEndian.Uint32(it.blk[off+8:]))
	it.cur = entry{hash: binary.LittleEndian.Uint64(it.blk[off:]), seq: it.hdr.first + it.rel}
	it.pos++
	it.left--
	return true, nil
}

// entryOffset is the file offset of the current entry.
func (it *runIter) entryOffset() int64 { return it.blkOff + int64((it.pos-1)*entrySize) }

func (it *runIter) loadBlock() error {
	it.blkOff += blockSize
	end := it.bufOff + int64(len(it.buf))
	if it.buf == nil || it.blkOff >= end {
		remaining := int64(dataBlocks(it.left)) * blockSize
		n := min(remaining, writeChunk)
		if cap(it.buf) < int(n) {
			it.buf = make([]byte, n)
		}
		it.buf = it.buf[:n]
		it.bufOff = it.blkOff
		if _, err := it.r.ReadAt(it.buf, it.bufOff); err != nil {
			return readErr(it.file, it.bufOff, err)
		}
	}
	rel := it.blkOff - it.bufOff
	it.blk = it.buf[rel : rel+blockSize]
	if !blockCRCOK(it.blk) {
		return corruptf(it.file, it.blkOff, "block crc32c mismatch")
	}
	it.inBlk = int(min(it.left, entriesPerBlock))
	it.pos = 0
	pad := it.inBlk * entrySize
	if i := firstNonZero(it.blk[pad:blockDataSize]); i >= 0 {
		return corruptf(it.file, it.blkOff+int64(pad+i), "nonzero block padding")
	}
	return nil
}

// decodeRun verifies a whole run file read through r (size bytes): header,
// every block's checksum and padding, strictly increasing (hash, seq) order,
// and that every seq of the run occurs exactly once. It returns the header
// and rebuilds the run's fences (first hash of every data block) and bloom
// filter, which are not stored. A run file that passes is the only valid
// encoding of its entries.
func decodeRun(r io.ReaderAt, size int64, file string) (runHeader, []uint64, bloom, error) {
	it, err := newRunIter(r, size, file)
	if err != nil {
		return runHeader{}, nil, bloom{}, err
	}
	count := it.hdr.count()
	fences := make([]uint64, 0, dataBlocks(count))
	filter := newBloom(count, bloomBitsPerKey(count))
	seen := make([]uint64, (count+63)/64)
	var prev entry
	for i := uint64(0); ; i++ {
		ok, err := it.next()
		if err != nil {
			return runHeader{}, nil, bloom{}, err
		}
		if !ok {
			break
		}
		e, rel := it.cur, it.rel
		if rel >= count {
			return runHeader{}, nil, bloom{}, corruptf(file, it.entryOffset()+8, "seq offset %d outside run of %d", rel, count)
		}
		if seen[rel/64]&(1<<(rel%64)) != 0 {
			return runHeader{}, nil, bloom{}, corruptf(file, it.entryOffset()+8, "seq %d occurs twice", e.seq)
		}
		seen[rel/64] |= 1 << (rel % 64)
		if i > 0 && compareEntries(prev, e) >= 0 {
			return runHeader{}, nil, bloom{}, corruptf(file, it.entryOffset(), "entries out of order")
		}
		prev = e
		if i%entriesPerBlock == 0 {
			fences = append(fences, e.hash)
		}
		filter.add(e.hash)
	}
	return it.hdr, fences, filter, nil
}
