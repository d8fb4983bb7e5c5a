package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Scanner reads the frames of one segment file in order. It never reads
// past size, so it can scan a file that another goroutine is appending to.
type Scanner struct {
	r     io.ReaderAt
	size  int64
	first uint64

	buf    []byte // file bytes [bufOff, bufOff+len(buf))
	bufOff int64

	off      int64 // offset of the next frame
	frameOff int64
	chunk    int // read size; readChunk if zero
	zeroTail int64
	typ      Type
	payload  []byte
	err      error
}

const readChunk = 1 << 20

// NewScanner checks the header of the segment held by r (size bytes long)
// and positions the scanner at the first frame.
func NewScanner(r io.ReaderAt, size int64) (*Scanner, error) {
	var h [HeaderSize]byte
	n, err := r.ReadAt(h[:min(int64(HeaderSize), size)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	first, err := DecodeHeader(h[:n])
	if err != nil {
		return nil, err
	}
	return &Scanner{r: r, size: size, first: first, off: HeaderSize, bufOff: HeaderSize}, nil
}

// NewScannerAt positions a scanner at off, which must be the offset of a
// frame found by an earlier scan (the header is not re-checked). It reads
// readSize bytes at a time (0 for the default of 1 MiB); use about the size
// of the frames you expect to read.
func NewScannerAt(r io.ReaderAt, size, off int64, readSize int) *Scanner {
	return &Scanner{r: r, size: size, off: off, bufOff: off, chunk: readSize}
}

// First is the seq of the segment's first entry (0 for NewScannerAt).
func (s *Scanner) First() uint64 { return s.first }

// Next advances to the next frame. It returns false at the end of the file
// or on error; Err tells which.
func (s *Scanner) Next() bool {
	if s.err != nil || s.off >= s.size {
		return false
	}
	b, err := s.window(FrameHeaderSize)
	if err != nil {
		s.err = err
		return false
	}
	if len(b) < FrameHeaderSize { // at end of file
		if allZero(b) {
			s.zeroTail = int64(len(b))
			return false
		}
		return s.fail(&TornError{Offset: s.off, Reason: fmt.Sprintf("incomplete frame header (%d bytes)", len(b))})
	}
	length := binary.LittleEndian.Uint32(b[0:4])
	stored := binary.LittleEndian.Uint32(b[4:8])
	typ := Type(b[8])
	if length == 0 && stored == 0 && typ == 0 {
		zero, err := s.zeroFrom(s.off)
		if err != nil {
			s.err = err
			return false
		}
		if zero { // preallocated space: the end of the data
			s.zeroTail = s.size - s.off
			return false
		}
		return s.fail(&CorruptError{Offset: s.off, Reason: "zero frame header followed by data"})
	}
	if length == 0 || length > MaxPayload {
		return s.fail(&CorruptError{Offset: s.off, Reason: fmt.Sprintf("frame length %d out of range [1,%d]", length, MaxPayload)})
	}
	size := FrameHeaderSize + int(length)
	if b, err = s.window(size); err != nil {
		s.err = err
		return false
	}
	if len(b) < size {
		return s.fail(&TornError{Offset: s.off, Reason: fmt.Sprintf("frame of %d bytes runs past the end of the file (%d bytes left)", size, len(b))})
	}
	payload := b[FrameHeaderSize:size]
	crc := crc32.Update(0, castagnoli, b[0:4])
	crc = crc32.Update(crc, castagnoli, b[8:9])
	crc = crc32.Update(crc, castagnoli, payload)
	if crc != stored {
		if cutAtSector(b[:size], s.off) || hasZeroSector(b[:size], s.off) {
			zero, err := s.zeroFrom(s.off + int64(size))
			if err != nil {
				s.err = err
				return false
			}
			if zero {
				return s.fail(&TornError{Offset: s.off, Reason: "frame with unwritten sectors, followed only by zeros"})
			}
		}
		return s.fail(&CorruptError{Offset: s.off, Reason: fmt.Sprintf("crc32c mismatch in %s frame (stored %08x, computed %08x)", typ, stored, crc)})
	}
	if typ != TypeEntry && typ != TypeCheckpoint {
		return s.fail(&CorruptError{Offset: s.off, Reason: fmt.Sprintf("unknown frame type %d", uint8(typ))})
	}
	s.frameOff, s.typ, s.payload = s.off, typ, payload
	s.off += int64(size)
	return true
}

func (s *Scanner) fail(err error) bool {
	s.err = err
	return false
}

// Type, Payload and Offset describe the current frame. Payload is valid
// until the next call to Next.
func (s *Scanner) Type() Type      { return s.typ }
func (s *Scanner) Payload() []byte { return s.payload }
func (s *Scanner) Offset() int64   { return s.frameOff }

// End is the offset just past the last good frame: where a torn tail or
// preallocated zero space starts, and where the next frame will be written.
func (s *Scanner) End() int64 { return s.off }

// ZeroTail is the number of preallocated (all-zero) bytes after End, when
// the scan ended cleanly on them.
func (s *Scanner) ZeroTail() int64 { return s.zeroTail }

// Err returns nil after a clean end of file, a *TornError, a *CorruptError,
// or an I/O error.
func (s *Scanner) Err() error { return s.err }

// window returns up to n bytes starting at s.off; fewer only at end of file.
func (s *Scanner) window(n int) ([]byte, error) {
	start := s.off - s.bufOff
	if start >= 0 && start+int64(n) <= int64(len(s.buf)) {
		return s.buf[start : start+int64(n)], nil
	}
	chunk := s.chunk
	if chunk == 0 {
		chunk = readChunk
	}
	want := max(n, chunk)
	want = int(min(int64(want), s.size-s.off))
	if cap(s.buf) < want {
		s.buf = make([]byte, want)
	}
	s.buf = s.buf[:want]
	got, err := s.r.ReadAt(s.buf, s.off)
	if err != nil && !(errors.Is(err, io.EOF) && got == want) {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("segment: file shrank while scanning at offset %d", s.off)
		}
		return nil, err
	}
	s.bufOff = s.off
	return s.buf[:min(n, want)], nil
}

// zeroFrom reports whether every byte from off to the end of the file is zero.
func (s *Scanner) zeroFrom(off int64) (bool, error) {
	chunk := make([]byte, 64<<10)
	for off < s.size {
		n := int(min(int64(len(chunk)), s.size-off))
		if _, err := s.r.ReadAt(chunk[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if !allZero(chunk[:n]) {
			return false, nil
		}
		off += int64(n)
	}
	return true, nil
}

// ReadFrame reads the frame at off in a file of the given size (for random
// reads of known-good frames). buf is reused if big enough.
func ReadFrame(r io.ReaderAt, size, off int64, buf []byte) (typ Type, payload []byte, next int64, err error) {
	s := NewScannerAt(r, size, off, 4096)
	s.buf = buf[:0]
	if !s.Next() {
		if s.err == nil {
			return 0, nil, 0, io.EOF
		}
		return 0, nil, 0, s.err
	}
	return s.typ, s.payload, s.off, nil
}
