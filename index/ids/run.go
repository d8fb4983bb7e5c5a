package ids

import (
	"encoding/binary"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/stele-log/stele/internal/fsx"
)

// run is an open, verified, immutable run file with its in-memory fences and
// bloom filter. Lookups read one data block per candidate by pread.
//
// A run is reference counted: the live run list holds one reference and a
// lookup that reads the file holds one while it reads. When a merge replaces
// the run it is marked obsolete; the last reference closes the file and, if
// obsolete, removes it, so a reader never sees its file vanish.
type run struct {
	fs     fsx.FS
	path   string
	log    *slog.Logger
	f      blockReader
	hdr    runHeader
	fences []uint64 // first hash of every data block
	filter bloom

	refs     atomic.Int32
	obsolete atomic.Bool
}

// blockReader is what a run needs of its file.
type blockReader interface {
	io.ReaderAt
	io.Closer
}

func newRun(fs fsx.FS, path string, log *slog.Logger, f blockReader, hdr runHeader, fences []uint64, filter bloom) *run {
	r := &run{fs: fs, path: path, log: log, f: f, hdr: hdr, fences: fences, filter: filter}
	r.refs.Store(1)
	return r
}

func (r *run) count() uint64 { return r.hdr.count() }

func (r *run) ref() { r.refs.Add(1) }

func (r *run) unref() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if err := r.f.Close(); err != nil {
		r.log.Warn("ids: closing run", "file", r.path, "err", err)
	}
	if r.obsolete.Load() {
		// The merged run that replaced this one is durable, so a crash
		// before or after the removal leaves a correct index; Open removes
		// runs that a larger run covers.
		if err := r.fs.Remove(r.path); err != nil {
			r.log.Warn("ids: removing merged run", "file", r.path, "err", err)
		}
	}
}

// memBytes is the memory the run holds besides its file.
func (r *run) memBytes() int { return r.filter.sizeBytes() + 8*cap(r.fences) }

var blockPool = sync.Pool{New: func() any { return new([blockSize]byte) }}

// lookup appends the seqs in r whose hash is h, newest first. The caller
// holds a reference and has checked the bloom filter.
func (r *run) lookup(dst []uint64, h uint64) ([]uint64, error) {
	// Entries with hash h start in the last block whose fence is < h, or in
	// the first block if its fence is h, and may continue into following
	// blocks whose fence is h.
	i, _ := slices.BinarySearch(r.fences, h) // first fence ≥ h
	start := i - 1
	if i == 0 {
		if len(r.fences) == 0 || r.fences[0] != h {
			return dst, nil
		}
		start = 0
	}
	buf := blockPool.Get().(*[blockSize]byte)
	defer blockPool.Put(buf)
	mark := len(dst)
	for b := start; b < len(r.fences) && (b == start || r.fences[b] == h); b++ {
		off := int64(b+1) * blockSize
		if _, err := r.f.ReadAt(buf[:], off); err != nil {
			return dst, readErr(r.path, off, err)
		}
		if !blockCRCOK(buf[:]) {
			return dst, corruptf(r.path, off, "block crc32c mismatch")
		}
		n := int(min(r.count()-uint64(b)*entriesPerBlock, entriesPerBlock))
		lo, hi := 0, n
		for lo < hi { // first entry with hash ≥ h
			m := int(uint(lo+hi) >> 1)
			if binary.LittleEndian.Uint64(buf[m*entrySize:]) < h {
				lo = m + 1
			} else {
				hi = m
			}
		}
		for ; lo < n; lo++ {
			off := lo * entrySize
			if binary.LittleEndian.Uint64(buf[off:]) != h {
				break
			}
			dst = append(dst, r.hdr.first+uint64(binary.LittleEndian.Uint32(buf[off+8:])))
		}
	}
	slices.Reverse(dst[mark:])
	return dst, nil
}
