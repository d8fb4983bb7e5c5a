package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// This file reads segment files the way an attacker with disk access would:
// by hand, from the layout in docs/format.md, without stele's segment
// package.
//
//	header: magic "STELESEG" | version u32 | flags u32 | first u64 | crc u32 | zero u32
//	frame:  length u32 | crc32c(length ‖ type ‖ payload) u32 | type u8 | payload
//
// Integers are little-endian; version is 1, flags and zero are 0, and a
// frame's length is 1..131072. The active segment may end in zeros
// (preallocated space): an all-zero frame header followed only by zeros
// ends the frames.

const (
	segHeaderSize   = 32
	frameHeaderSize = 9
	maxFramePayload = 1 << 17
	frameEntry      = 1
	frameCheckpoint = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segFrame is one frame of a segment file.
type segFrame struct {
	off     int    // offset of the frame header in the file
	typ     byte   // frameEntry or frameCheckpoint
	seq     uint64 // for an entry: its seq
	payload []byte // aliases the file's bytes
}

// parseSegment walks every frame of a segment file, checking the header and
// every frame's length, checksum and type. It stops with an error at the
// first bad frame, torn or corrupt alike: the tests only read files that
// stele closed cleanly.
func parseSegment(data []byte) (first uint64, frames []segFrame, err error) {
	if len(data) < segHeaderSize || !bytes.Equal(data[:8], []byte("STELESEG")) {
		return 0, nil, fmt.Errorf("not a segment file (no STELESEG header)")
	}
	if crc32.Checksum(data[:24], castagnoli) != binary.LittleEndian.Uint32(data[24:28]) {
		return 0, nil, fmt.Errorf("segment header checksum mismatch")
	}
	if binary.LittleEndian.Uint32(data[8:12]) != 1 || binary.LittleEndian.Uint32(data[12:16]) != 0 || binary.LittleEndian.Uint32(data[28:32]) != 0 {
		return 0, nil, fmt.Errorf("segment header: not version 1, or non-zero flags or reserved bytes")
	}
	first = binary.LittleEndian.Uint64(data[16:24])
	next := first
	for off := segHeaderSize; off < len(data); {
		if allZero(data[off:]) {
			break // preallocated space
		}
		if len(data)-off < frameHeaderSize {
			return first, frames, fmt.Errorf("offset %d: %d bytes left, less than a frame header", off, len(data)-off)
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 || n > maxFramePayload || len(data)-off-frameHeaderSize < n {
			return first, frames, fmt.Errorf("offset %d: frame length %d out of range or past the end of the file", off, n)
		}
		fr := segFrame{off: off, typ: data[off+8], payload: data[off+frameHeaderSize : off+frameHeaderSize+n]}
		if frameCRC(data[off:off+frameHeaderSize+n]) != binary.LittleEndian.Uint32(data[off+4:]) {
			return first, frames, fmt.Errorf("offset %d: frame checksum mismatch", off)
		}
		switch fr.typ {
		case frameEntry:
			fr.seq = next
			next++
		case frameCheckpoint:
		default:
			return first, frames, fmt.Errorf("offset %d: unknown frame type %d", off, fr.typ)
		}
		frames = append(frames, fr)
		off += frameHeaderSize + n
	}
	return first, frames, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// frameCRC is the CRC-32C a frame stores: over its length, type and payload.
func frameCRC(frame []byte) uint32 {
	crc := crc32.Update(0, castagnoli, frame[0:4])
	crc = crc32.Update(crc, castagnoli, frame[8:9])
	return crc32.Update(crc, castagnoli, frame[frameHeaderSize:])
}

// resealFrame recomputes the checksum of the frame at off after its payload
// was changed in place: the edit then passes every CRC check.
func resealFrame(data []byte, off int) {
	n := int(binary.LittleEndian.Uint32(data[off:]))
	frame := data[off : off+frameHeaderSize+n]
	binary.LittleEndian.PutUint32(frame[4:8], frameCRC(frame))
}

// entryFrame returns the frame of the entry at seq.
func entryFrame(frames []segFrame, seq uint64) (segFrame, bool) {
	for _, fr := range frames {
		if fr.typ == frameEntry && fr.seq == seq {
			return fr, true
		}
	}
	return segFrame{}, false
}
