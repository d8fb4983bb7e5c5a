package search

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
)

// Batching limits for range scans: dictionary blocks are read this many
// bytes at a time, and the external postings of one batch in one read when
// they span at most maxSpanRead bytes.
const (
	maxDictRead = 256 << 10
	maxSpanRead = 8 << 20
)

// sealed is a chunk whose file is written (or, while writing fails, whose
// encoded bytes are held in memory). Only its summary is in memory; queries
// read the blocks and postings they need with ReadAt and check their CRCs
// again, so damage after Open is reported, never served.
//
// A sealed chunk is reference counted: the index holds one reference and
// each Snapshot that includes it another. The last reference closes the
// file.
type sealed struct {
	*summary
	name string // file path, for errors
	r    io.ReaderAt
	f    io.Closer // the open file; nil when r is the bytes in memory
	size int64     // file size
	refs atomic.Int32
	log  *slog.Logger
	bufs *sync.Pool // of *readBuf, shared by the index's chunks
}

// readBuf is per-query scratch, pooled so that queries do not allocate.
type readBuf struct {
	dict []byte
	post []byte
	keys []byte
	ents []scanEntry
	it   blockIter
}

type scanEntry struct {
	keyEnd int   // end of the key in readBuf.keys
	off    int64 // file offset of the dictionary entry
	e      entry
}

func newBufPool() *sync.Pool { return &sync.Pool{New: func() any { return new(readBuf) }} }

func newSealed(sum *summary, name string, r io.ReaderAt, f io.Closer, size int64, log *slog.Logger, bufs *sync.Pool) *sealed {
	s := &sealed{summary: sum, name: name, r: r, f: f, size: size, log: log, bufs: bufs}
	s.refs.Store(1)
	return s
}

func (s *sealed) ref() { s.refs.Add(1) }

func (s *sealed) unref() {
	if s.refs.Add(-1) != 0 || s.f == nil {
		return
	}
	if err := s.f.Close(); err != nil {
		s.log.Warn("search: closing chunk file", "file", s.name, "err", err)
	}
}

// readAt reads n bytes at off into buf (grown as needed).
func (s *sealed) readAt(buf []byte, off int64, n int) ([]byte, error) {
	if off < 0 || int64(n) > s.size-off {
		return nil, corruptf(s.name, off, "read of %d bytes past the end of the file", n)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	k, err := s.r.ReadAt(buf, off)
	if k == n {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, corruptf(s.name, off+int64(k), "file shorter than its header says")
	}
	return nil, fmt.Errorf("search: reading %s: %w", s.name, err)
}

// findBlock returns the last block whose first key is <= key, or -1.
func (s *sealed) findBlock(key []byte) int {
	return sort.Search(len(s.blocks), func(i int) bool { return bytes.Compare(s.firstKey(i), key) > 0 }) - 1
}

func (s *sealed) malformed(err error, off int64) error {
	if errors.Is(err, errMalformed) {
		return corruptf(s.name, off, "%v", err)
	}
	return err
}

// lookup calls fn with the postings of key, if the chunk has the term.
func (s *sealed) lookup(key []byte, fn func(p *postings) error) error {
	bi := s.findBlock(key)
	if bi < 0 {
		return nil
	}
	buf := s.bufs.Get().(*readBuf)
	defer s.bufs.Put(buf)
	ref := s.blocks[bi]
	raw, err := s.readAt(buf.dict, ref.dictOff, int(ref.dictLen))
	if err != nil {
		return err
	}
	buf.dict = raw
	body, err := verifyCRC(raw, s.name, ref.dictOff, "dictionary block")
	if err != nil {
		return err
	}
	it := &buf.it
	it.reset(&s.h, ref, body, s.name)
	for {
		e, err := it.next()
		if err != nil || e == nil {
			return err
		}
		switch c := bytes.Compare(e.key, key); {
		case c < 0:
			continue
		case c > 0:
			return nil
		}
		p := postings{count: e.count, kind: e.kind, single: e.single, n: s.h.count, data: e.data}
		if e.kind == kindList || e.kind == kindBitmap {
			if p.data, err = s.payload(buf, e); err != nil {
				return err
			}
		}
		return s.malformed(fn(&p), it.entryOff)
	}
}

// payload reads and checks the external postings of e into buf.post.
func (s *sealed) payload(buf *readBuf, e *entry) ([]byte, error) {
	raw, err := s.readAt(buf.post, e.ext, e.size+crcSize)
	if err != nil {
		return nil, err
	}
	buf.post = raw
	return verifyCRC(raw, s.name, e.ext, "postings list")
}

// scan calls fn with every term whose key starts with prefix, in key order.
// The key passed to fn is valid only during the call.
func (s *sealed) scan(prefix []byte, fn func(key []byte, p *postings) error) error {
	start := max(s.findBlock(prefix), 0)
	end := sort.Search(len(s.blocks), func(i int) bool {
		k := s.firstKey(i)
		return bytes.Compare(k, prefix) > 0 && !bytes.HasPrefix(k, prefix)
	})
	if start >= end {
		return nil
	}
	buf := s.bufs.Get().(*readBuf)
	defer s.bufs.Put(buf)
	for start < end {
		// One batch: consecutive blocks up to maxDictRead bytes (at least one).
		stop := start + 1
		batchEnd := s.blocks[start].dictOff + int64(s.blocks[start].dictLen)
		for stop < end && batchEnd+int64(s.blocks[stop].dictLen)-s.blocks[start].dictOff <= maxDictRead {
			batchEnd += int64(s.blocks[stop].dictLen)
			stop++
		}
		done, err := s.scanBatch(buf, start, stop, prefix, fn)
		if err != nil || done {
			return err
		}
		start = stop
	}
	return nil
}

// scanBatch scans the blocks [start, stop): it collects the matching
// entries, reads their external postings (contiguous, since postings are
// in key order) and calls fn. done reports that the prefix range ended.
func (s *sealed) scanBatch(buf *readBuf, start, stop int, prefix []byte, fn func(key []byte, p *postings) error) (done bool, err error) {
	first := s.blocks[start]
	last := s.blocks[stop-1]
	raw, err := s.readAt(buf.dict, first.dictOff, int(last.dictOff+int64(last.dictLen)-first.dictOff))
	if err != nil {
		return false, err
	}
	buf.dict = raw
	buf.keys, buf.ents = buf.keys[:0], buf.ents[:0]
	it := &buf.it
	for bi := start; bi < stop && !done; bi++ {
		ref := s.blocks[bi]
		at := ref.dictOff - first.dictOff
		body, err := verifyCRC(raw[at:at+int64(ref.dictLen)], s.name, ref.dictOff, "dictionary block")
		if err != nil {
			return false, err
		}
		it.reset(&s.h, ref, body, s.name)
		for {
			e, err := it.next()
			if err != nil {
				return false, err
			}
			if e == nil {
				break
			}
			if !bytes.HasPrefix(e.key, prefix) {
				if bytes.Compare(e.key, prefix) > 0 {
					done = true
					break
				}
				continue
			}
			buf.keys = append(buf.keys, e.key...)
			buf.ents = append(buf.ents, scanEntry{keyEnd: len(buf.keys), off: it.entryOff, e: *e})
			buf.ents[len(buf.ents)-1].e.key = nil
		}
	}
	// The external postings of the matches, in one read when it is small.
	var span []byte
	spanOff, spanEnd := int64(-1), int64(-1)
	for i := range buf.ents {
		if e := &buf.ents[i].e; e.kind == kindList || e.kind == kindBitmap {
			if spanOff < 0 {
				spanOff = e.ext
			}
			spanEnd = e.ext + int64(e.size) + crcSize
		}
	}
	if spanOff >= 0 && spanEnd-spanOff <= maxSpanRead {
		if span, err = s.readAt(buf.post, spanOff, int(spanEnd-spanOff)); err != nil {
			return false, err
		}
		buf.post = span
	}
	keyStart := 0
	for i := range buf.ents {
		se := &buf.ents[i]
		key := buf.keys[keyStart:se.keyEnd]
		keyStart = se.keyEnd
		e := &se.e
		p := postings{count: e.count, kind: e.kind, single: e.single, n: s.h.count, data: e.data}
		if e.kind == kindList || e.kind == kindBitmap {
			if span != nil {
				at := e.ext - spanOff
				p.data, err = verifyCRC(span[at:at+int64(e.size)+crcSize], s.name, e.ext, "postings list")
			} else {
				var one readBuf
				p.data, err = s.payload(&one, e)
			}
			if err != nil {
				return false, err
			}
		}
		if err := fn(key, &p); err != nil {
			return false, s.malformed(err, se.off)
		}
	}
	return done, nil
}

// times calls fn with the time of every event.
func (s *sealed) times(fn func(pos int, t int64)) error {
	buf := s.bufs.Get().(*readBuf)
	defer s.bufs.Put(buf)
	off := s.h.timeOff()
	raw, err := s.readAt(buf.post, off, int(s.h.timeLen))
	if err != nil {
		return err
	}
	buf.post = raw
	col, err := verifyCRC(raw, s.name, off, "time column")
	if err != nil {
		return err
	}
	if bad, ok := decodeTimes(col, s.h.count, s.h.minTime, s.h.maxTime, fn); !ok {
		return corruptf(s.name, off+int64(bad), "malformed time column")
	}
	return nil
}
