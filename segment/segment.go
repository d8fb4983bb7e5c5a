// Package segment owns the byte format of stele's segment files: the
// append-only files that hold the log's entries (and the signed checkpoints
// that seal them) in order. It frames records, checks them, and tells a torn
// tail (an unfinished write cut short by a crash) from corruption.
//
// It knows nothing about seqs beyond a segment's first seq, nor about Merkle
// trees: the storage engine (storage/local) gives records meaning.
//
// # File format
//
// All integers are little-endian except where noted. A segment file is a
// 32-byte header followed by zero or more frames:
//
//	header:  magic   [8]byte  "STELESEG"
//	         version uint32   1
//	         flags   uint32   0
//	         first   uint64   seq of the first entry frame in this file
//	         crc     uint32   CRC-32C (Castagnoli) of header bytes [0,24)
//	         zero    uint32   0
//
//	frame:   length  uint32   payload length in bytes, 1..MaxPayload
//	         crc     uint32   CRC-32C of length (4 bytes), type (1 byte), payload
//	         type    uint8    TypeEntry (1) or TypeCheckpoint (2)
//	         payload [length]byte
//
// An entry frame's payload is one canonical log entry; the i-th entry frame
// of a file has seq first+i. A checkpoint frame's payload is a signed C2SP
// checkpoint note that seals every entry before it (and possibly fewer).
//
// # Preallocation and torn tails
//
// A writer may extend a file with zeros ahead of its data, so that fsync
// does not have to journal a size change on every commit. A scan therefore
// ends cleanly at a zero frame header followed only by zeros (ZeroTail
// reports how many).
//
// A crash can cut the last write short. A scan classifies a bad frame as
// torn (safe to cut: it was never acknowledged) only when nothing valid can
// follow it:
//   - the frame header or payload runs past the end of the file;
//   - the frame fails its checksum, only zeros follow it, and either the data
//     in it stops at a 512-byte sector boundary before its declared end, or it
//     contains an all-zero aligned sector (a device persisted the write's
//     sectors out of order). Entries and checkpoints contain no zero bytes,
//     so a bit flip in a complete frame is never mistaken for either.
//
// Anything else, including a checksum failure in a complete frame, is
// corruption: the scan stops with a *CorruptError naming the offset.
// Deciding whether to cut a torn tail is the caller's job (only the last
// segment may have one, and never below a signed checkpoint).
package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Type is a frame type.
type Type uint8

const (
	TypeEntry      Type = 1 // a canonical log entry
	TypeCheckpoint Type = 2 // a signed checkpoint note
)

func (t Type) String() string {
	switch t {
	case TypeEntry:
		return "entry"
	case TypeCheckpoint:
		return "checkpoint"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

const (
	// HeaderSize is the size of the segment file header.
	HeaderSize = 32
	// FrameHeaderSize is the size of a frame header.
	FrameHeaderSize = 9
	// MaxPayload bounds a frame's payload. Entries are at most 65535 bytes;
	// the slack is for checkpoint notes with many signatures.
	MaxPayload = 1 << 17

	magic   = "STELESEG"
	version = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// ErrCorrupt is wrapped by every *CorruptError.
	ErrCorrupt = errors.New("segment: corrupt")
	// ErrTorn is wrapped by every *TornError.
	ErrTorn = errors.New("segment: torn tail")
)

// CorruptError reports damage that cannot be a torn write.
type CorruptError struct {
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("segment: corrupt at offset %d: %s", e.Offset, e.Reason)
}
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// TornError reports an unfinished write at the end of a file. Everything from
// Offset on can be cut off.
type TornError struct {
	Offset int64
	Reason string
}

func (e *TornError) Error() string {
	return fmt.Sprintf("segment: torn tail at offset %d: %s", e.Offset, e.Reason)
}
func (e *TornError) Unwrap() error { return ErrTorn }

// EncodeHeader returns the header of a segment whose first entry has seq first.
func EncodeHeader(first uint64) [HeaderSize]byte {
	var h [HeaderSize]byte
	copy(h[0:8], magic)
	binary.LittleEndian.PutUint32(h[8:12], version)
	binary.LittleEndian.PutUint64(h[16:24], first)
	binary.LittleEndian.PutUint32(h[24:28], crc32.Checksum(h[0:24], castagnoli))
	return h
}

// DecodeHeader checks a segment header and returns its first seq.
func DecodeHeader(h []byte) (first uint64, err error) {
	if len(h) < HeaderSize {
		return 0, &TornError{Offset: 0, Reason: fmt.Sprintf("header is %d bytes, want %d", len(h), HeaderSize)}
	}
	if string(h[0:8]) != magic {
		return 0, &CorruptError{Offset: 0, Reason: fmt.Sprintf("bad magic %q", h[0:8])}
	}
	if got, want := binary.LittleEndian.Uint32(h[24:28]), crc32.Checksum(h[0:24], castagnoli); got != want {
		return 0, &CorruptError{Offset: 0, Reason: "header crc32c mismatch"}
	}
	if v := binary.LittleEndian.Uint32(h[8:12]); v != version {
		return 0, &CorruptError{Offset: 0, Reason: fmt.Sprintf("unsupported version %d", v)}
	}
	if binary.LittleEndian.Uint32(h[12:16]) != 0 || binary.LittleEndian.Uint32(h[28:32]) != 0 {
		return 0, &CorruptError{Offset: 0, Reason: "non-zero reserved header bytes"}
	}
	return binary.LittleEndian.Uint64(h[16:24]), nil
}

// BeginFrame reserves a frame header at the end of dst. Append the payload to
// the returned slice, then call EndFrame with the same start. This lets the
// sequencer render an entry straight into its write buffer.
func BeginFrame(dst []byte) (buf []byte, start int) {
	start = len(dst)
	return append(dst, make([]byte, FrameHeaderSize)...), start
}

// EndFrame fills in the frame header reserved at buf[start:] by BeginFrame;
// the payload is buf[start+FrameHeaderSize:].
func EndFrame(buf []byte, start int, typ Type) {
	hdr := buf[start : start+FrameHeaderSize]
	payload := buf[start+FrameHeaderSize:]
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	hdr[8] = byte(typ)
	crc := crc32.Update(0, castagnoli, hdr[0:4])
	crc = crc32.Update(crc, castagnoli, hdr[8:9])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(hdr[4:8], crc)
}

// AppendFrame appends a complete frame to dst.
func AppendFrame(dst []byte, typ Type, payload []byte) []byte {
	dst, start := BeginFrame(dst)
	dst = append(dst, payload...)
	EndFrame(dst, start, typ)
	return dst
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// cutAtSector reports whether the frame b (starting at file offset off)
// looks like a write cut short at a 512-byte sector boundary: from some
// sector boundary inside the frame to its end, every byte is zero. A
// complete frame never ends in a zero byte (entries end in '}', checkpoints
// in '\n'), so a frame that passes this test cannot be a bit-flipped
// complete frame.
func cutAtSector(b []byte, off int64) bool {
	const sector = 512
	last := len(b) - 1
	for last >= 0 && b[last] == 0 {
		last--
	}
	if last < 0 {
		return true
	}
	cut := (off + int64(last) + 1 + sector - 1) / sector * sector // first boundary after the data
	return cut < off+int64(len(b))
}

// hasZeroSector reports whether b (which starts at file offset off) contains
// a whole 512-byte sector, aligned in the file, that is all zero: a sector
// that never reached the disk when a device persisted a write out of order.
// Entries and checkpoints contain no zero bytes, so a complete frame never
// has one.
func hasZeroSector(b []byte, off int64) bool {
	const sector = 512
	first := (sector - off%sector) % sector
	for i := first; i+sector <= int64(len(b)); i += sector {
		if allZero(b[i : i+sector]) {
			return true
		}
	}
	return false
}
