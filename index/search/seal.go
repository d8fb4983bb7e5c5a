package search

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/stele-log/stele/internal/fsx"
)

// sealLoop encodes and writes full chunks, oldest first. Encoding never
// fails; a failed write leaves the chunk queued (served from its encoded
// bytes) and is retried with exponential backoff, or at once when Flush
// asks. Chunks are written in order, so the files on disk always form a
// chain from seq 0.
func (x *Index) sealLoop() {
	defer x.wg.Done()
	backoff := x.backoff
	var retry <-chan time.Time
	for {
		select {
		case <-x.done:
			x.drain()
			return
		case <-x.wake:
		case <-retry:
		}
		retry = nil
		for x.encodeOne() {
		}
		for {
			ok, err := x.writeOne()
			if err != nil {
				x.log.Error("search: writing a chunk failed; it stays in memory and the write is retried",
					"err", err, "retry_in", backoff)
				retry = time.After(backoff)
				backoff = min(2*backoff, 100*x.backoff)
				break
			}
			if !ok {
				backoff = x.backoff
				break
			}
			x.encodeOne() // chunks that filled up meanwhile
		}
	}
}

// drain writes what is queued when the index closes, unless writes are
// failing.
func (x *Index) drain() {
	for x.encodeOne() {
	}
	x.mu.RLock()
	failing := x.writeErr != nil
	x.mu.RUnlock()
	if failing {
		return
	}
	for {
		if ok, err := x.writeOne(); !ok || err != nil {
			if err != nil {
				x.log.Error("search: writing a chunk at Close failed; it is rebuilt from the log", "err", err)
			}
			return
		}
	}
}

// encodeOne encodes the oldest pending chunk that is not encoded yet, and
// reports whether there was one. The encoded bytes replace the memChunk,
// so a chunk whose write fails costs its file size in memory.
func (x *Index) encodeOne() bool {
	x.mu.RLock()
	var p *pending
	for _, q := range x.pending {
		if q.enc == nil {
			p = q
			break
		}
	}
	x.mu.RUnlock()
	if p == nil {
		return false
	}
	name := filepath.Join(x.dir, chunkFileName(p.mem.base))
	data := encodeMem(p.mem, x.chunkSize)
	sum, err := summarize(data, name)
	if err != nil {
		panic(fmt.Sprintf("search: encoded chunk does not decode: %v", err)) // a bug in this package
	}
	enc := newSealed(sum, name+" (in memory)", bytes.NewReader(data), nil, int64(len(data)), x.log, x.bufs)
	x.mu.Lock()
	p.enc, p.data, p.mem, p.chunk = enc, data, nil, sealedChunk(enc)
	x.mu.Unlock()
	return true
}

// summarize builds the summary of a file this package just encoded; it
// skips the checks Open does, which tests run on every encoded file.
func summarize(data []byte, name string) (*summary, error) {
	h, err := parseHeader(data, int64(len(data)), name)
	if err != nil {
		return nil, err
	}
	s := &summary{h: h}
	if err := s.parseIndex(data[h.indexOff():], name, verifyCRC); err != nil {
		return nil, err
	}
	return s, nil
}

// writeOne writes the oldest pending chunk if it is encoded, and reports
// whether it did.
func (x *Index) writeOne() (bool, error) {
	x.mu.RLock()
	var p *pending
	if len(x.pending) > 0 && x.pending[0].enc != nil {
		p = x.pending[0]
	}
	x.mu.RUnlock()
	if p == nil {
		return false, nil
	}
	s, err := x.writeChunk(p)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.fails++
		x.writeErr = err
		x.changed.Broadcast()
		return false, err
	}
	if x.writeErr != nil {
		x.log.Info("search: chunk writes recovered", "file", s.name)
	}
	x.writeErr = nil
	x.sealed = append(x.sealed, sealedChunk(s))
	x.pending = slices.Delete(x.pending, 0, 1)
	x.changed.Broadcast()
	return true, nil
}

// writeChunk writes p's file (temporary name, fsync, rename, directory
// fsync) and opens it for reading. The fsync costs one flush per 65,536
// events and means a crash loses at most the chunks in memory, not a
// rebuild of everything written since the last sync. On error nothing is
// left behind.
func (x *Index) writeChunk(p *pending) (*sealed, error) {
	path := filepath.Join(x.dir, chunkFileName(p.enc.h.base))
	tmp := path + ".tmp"
	if err := x.fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("search: %w", err)
	}
	f, err := x.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	_, err = f.Write(p.data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = x.fs.Rename(tmp, path)
	}
	if err != nil {
		x.fs.Remove(tmp)
		return nil, fmt.Errorf("search: writing %s: %w", path, err)
	}
	if err := x.fs.SyncDir(x.dir); err != nil {
		x.fs.Remove(path)
		return nil, fmt.Errorf("search: writing %s: %w", path, err)
	}
	r, err := fsx.Open(x.fs, path)
	if err != nil {
		x.fs.Remove(path)
		return nil, fmt.Errorf("search: reopening %s: %w", path, err)
	}
	return newSealed(p.enc.summary, path, r, r, int64(len(p.data)), x.log, x.bufs), nil
}
