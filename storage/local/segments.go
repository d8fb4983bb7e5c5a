package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"sort"
	"sync"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/segment"
	"github.com/stele-log/stele/tiles"
)

// anchorEvery is the spacing of the in-memory seq → offset anchors: a random
// read scans at most anchorEvery-1 frames. It divides tiles.Width, so every
// entry bundle starts at an anchor.
const anchorEvery = 32

// anchorCount is the number of anchors of a segment: its first entry, then
// every entry whose seq is a multiple of anchorEvery.
func anchorCount(first, entries uint64) uint64 {
	if entries == 0 {
		return 0
	}
	return (first+entries-1)/anchorEvery - first/anchorEvery + 1
}

// seg is one segment file. A segment may start at any seq; an entry bundle
// can span two files.
type seg struct {
	first uint64
	name  string // relative to the data directory, e.g. segments/00000000000000000000.seg
	f     fsx.File

	// Guarded by segmentSet.mu. They describe the sealed (published) part.
	entries    uint64   // entry frames
	end        int64    // bytes
	tileStarts []uint32 // anchors: offsets of entry frames (see anchorCount)
	lastCP     int64    // offset of the last checkpoint frame, or -1
	sealed     bool     // complete and read-only
}

// segmentSet is the ordered list of segments plus lookups by seq.
type segmentSet struct {
	mu   sync.RWMutex
	segs []*seg
}

func (s *segmentSet) active() *seg {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.segs[len(s.segs)-1]
}

// locate returns the segment holding seq, the anchor at or before seq (the
// seq and offset of an entry frame to start scanning from) and the
// segment's sealed byte size. Anchor i of a segment is its first entry for
// i == 0, else the entry with seq (first/anchorEvery + i) * anchorEvery.
func (s *segmentSet) locate(seq uint64) (sg *seg, anchorSeq uint64, anchorOff int64, size int64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > seq }) - 1
	if i < 0 {
		return nil, 0, 0, 0, false
	}
	sg = s.segs[i]
	if seq-sg.first >= sg.entries {
		return nil, 0, 0, 0, false
	}
	a := seq/anchorEvery - sg.first/anchorEvery
	anchorSeq = sg.first
	if a > 0 {
		anchorSeq = (sg.first/anchorEvery + a) * anchorEvery
	}
	return sg, anchorSeq, int64(sg.tileStarts[a]), sg.end, true
}

// readEntries calls fn for count entries starting at seq, in order. The
// slice passed to fn is only valid during the call.
func (s *segmentSet) readEntries(seq uint64, count int, fn func(seq uint64, entry []byte) error) error {
	for count > 0 {
		sg, cur, off, size, ok := s.locate(seq)
		if !ok {
			return fmt.Errorf("seq %d: %w", seq, stele.ErrNotFound)
		}
		sc := segment.NewScannerAt(sg.f, size, off, (min(count, tiles.Width)+anchorEvery)*512)
		for count > 0 && sc.Next() {
			if sc.Type() != segment.TypeEntry {
				continue
			}
			if cur >= seq {
				if err := fn(cur, sc.Payload()); err != nil {
					return err
				}
				seq++
				count--
			}
			cur++
		}
		if err := sc.Err(); err != nil {
			return corruptAt(sg.name, sc.End(), int64(cur), err)
		}
		if count > 0 && cur != seq {
			return &stele.CorruptionError{File: sg.name, Offset: sc.End(), Seq: int64(cur), Reason: "segment ended before its sealed entry count"}
		}
	}
	return nil
}

// corruptAt turns a segment scan error into a CorruptionError naming the file.
func corruptAt(name string, off, seq int64, err error) error {
	var ce *segment.CorruptError
	var te *segment.TornError
	switch {
	case errors.As(err, &ce):
		return &stele.CorruptionError{File: name, Offset: ce.Offset, Seq: seq, Reason: ce.Reason}
	case errors.As(err, &te):
		return &stele.CorruptionError{File: name, Offset: te.Offset, Seq: seq, Reason: "truncated frame inside sealed data: " + te.Reason}
	}
	return fmt.Errorf("local: read %s at offset %d: %w", name, off, err)
}

// Sidecar (.idx) format, all little-endian:
//
//	magic    [8]byte "STELEIDX"
//	version  uint32  2
//	count    uint32  number of anchors (first entry, then seqs that are multiples of 32)
//	entries  uint64  entry frames in the segment
//	size     uint64  byte size of the sealed segment
//	lastCP   int64   offset of the last checkpoint frame, -1 if none
//	anchors  [count]uint32 offsets of the anchor entries
//	crc      uint32  CRC-32C of everything before it
const (
	sidecarMagic   = "STELEIDX"
	sidecarVersion = 2 // 1 had anchors every 256 entries; it is rebuilt on sight
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeSidecar(sg *seg) []byte {
	b := make([]byte, 0, 40+4*len(sg.tileStarts)+4)
	b = append(b, sidecarMagic...)
	b = binary.LittleEndian.AppendUint32(b, sidecarVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(sg.tileStarts)))
	b = binary.LittleEndian.AppendUint64(b, sg.entries)
	b = binary.LittleEndian.AppendUint64(b, uint64(sg.end))
	b = binary.LittleEndian.AppendUint64(b, uint64(sg.lastCP))
	for _, off := range sg.tileStarts {
		b = binary.LittleEndian.AppendUint32(b, off)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeSidecar(b []byte, sg *seg) error {
	if len(b) < 44 || string(b[:8]) != sidecarMagic {
		return errors.New("bad sidecar header")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return errors.New("sidecar crc32c mismatch")
	}
	if binary.LittleEndian.Uint32(b[8:12]) != sidecarVersion {
		return errors.New("unsupported sidecar version")
	}
	count := int(binary.LittleEndian.Uint32(b[12:16]))
	if len(body) != 40+4*count {
		return errors.New("sidecar length mismatch")
	}
	sg.entries = binary.LittleEndian.Uint64(b[16:24])
	sg.end = int64(binary.LittleEndian.Uint64(b[24:32]))
	sg.lastCP = int64(binary.LittleEndian.Uint64(b[32:40]))
	if want := anchorCount(sg.first, sg.entries); uint64(count) != want {
		return fmt.Errorf("sidecar has %d anchors for %d entries, want %d", count, sg.entries, want)
	}
	sg.tileStarts = make([]uint32, count)
	for i := range sg.tileStarts {
		sg.tileStarts[i] = binary.LittleEndian.Uint32(b[40+4*i:])
	}
	return nil
}

func writeSidecar(fsys fsx.FS, dir string, sg *seg) error {
	path := filepath.Join(dir, segmentsDir, sidecarName(sg.first))
	return fsx.WriteFileAtomic(fsys, path, encodeSidecar(sg), 0o444)
}
