package search

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stele-log/stele/internal/fsx"
)

// ChunkSize is the number of consecutive seqs in a chunk: chunk k holds
// [k*ChunkSize, (k+1)*ChunkSize), so a position fits in a uint16.
const ChunkSize = 65536

// Backlog of full chunks waiting to be written. Add waits while maxPending
// are queued and writes succeed, which paces a bulk rebuild to the disk;
// while writes fail it goes on up to maxPendingFailing (the chunks are held
// encoded, a few MiB each) so that a short outage does not stall the log.
const (
	maxPending        = 2
	maxPendingFailing = 8
	minBackoff        = 50 * time.Millisecond
	lockName          = "LOCK"
)

// Options configures an Index. The zero value is usable.
type Options struct {
	// Logger receives background sealing errors and the files Open
	// discards. May be nil.
	Logger *slog.Logger

	chunkSize    int           // tests use smaller chunks; 0 means ChunkSize
	retryBackoff time.Duration // tests shorten minBackoff
}

// Stats describes an Index.
type Stats struct {
	Chunks     int    // chunk files written
	Pending    int    // full chunks waiting to be written (held in memory)
	Events     uint64 // Covered()
	DiskBytes  int64  // bytes of the chunk files
	MemBytes   int64  // memory held: chunk summaries, pending and partial chunks
	SealErrors uint64 // failed chunk writes since Open
}

// Index is the search index of one log. Add must be called by one
// goroutine at a time (the calls come in seq order anyway); everything else
// is safe for concurrent use.
type Index struct {
	fs        fsx.FS
	dir       string
	log       *slog.Logger
	chunkSize int
	backoff   time.Duration
	lock      io.Closer
	seed      maphash.Seed
	bufs      *sync.Pool
	ex        *extractor // used by Add only

	covered atomic.Uint64

	mu       sync.RWMutex
	changed  *sync.Cond // on &mu; broadcast when pending shrinks or a write fails
	closed   bool
	sealed   []*Chunk   // chunk k at index k; all backed by a *sealed file
	pending  []*pending // full chunks not yet written, oldest first
	active   *memChunk
	fails    uint64 // failed writes so far
	writeErr error  // last write error; nil after a successful write

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// pending is a full chunk on its way to disk: first the memChunk, then its
// encoded file bytes (served from memory while the write fails).
type pending struct {
	mem   *memChunk
	enc   *sealed
	data  []byte
	chunk *Chunk // what snapshots see
}

// Open opens or creates the index in dir (created if missing) and takes an
// exclusive lock on dir/LOCK. It reads and verifies every chunk file
// (checksums and structure); Covered() is the end of the valid chunks that
// follow each other from seq 0. A damaged, partial or foreign file ends the
// chain: it and every later chunk file are removed (and logged), and the
// caller re-Adds those events from the log.
func Open(fsys fsx.FS, dir string, opts Options) (*Index, error) {
	chunkSize := cmp.Or(opts.chunkSize, ChunkSize)
	if chunkSize < 64 || chunkSize > ChunkSize || chunkSize&(chunkSize-1) != 0 {
		return nil, fmt.Errorf("search: chunk size %d", chunkSize)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := createDir(fsys, dir); err != nil {
		return nil, err
	}
	lock, err := fsys.Lock(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	x := &Index{
		fs:        fsys,
		dir:       dir,
		log:       logger,
		chunkSize: chunkSize,
		backoff:   cmp.Or(opts.retryBackoff, minBackoff),
		lock:      lock,
		seed:      maphash.MakeSeed(),
		bufs:      newBufPool(),
		ex:        newExtractor(),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	x.changed = sync.NewCond(&x.mu)
	if err := x.load(); err != nil {
		lock.Close()
		return nil, err
	}
	covered := uint64(len(x.sealed)) * uint64(chunkSize)
	x.covered.Store(covered)
	x.active = newMemChunk(covered, x.seed)
	x.wg.Add(1)
	go x.sealLoop()
	return x, nil
}

// createDir creates dir and makes its entry durable: chunk files are
// fsynced so that a crash loses at most the in-memory chunk, which needs
// the directory to survive as well.
func createDir(fsys fsx.FS, dir string) error {
	dir = filepath.Clean(dir)
	if _, err := fsys.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("search: %w", err)
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	if err := fsys.SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}

func chunkFileName(base uint64) string { return fmt.Sprintf("chunk-%020d.six", base) }

func parseChunkFileName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, "chunk-")
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, ".six")
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	return base, err == nil
}

// load opens the chain of valid chunk files from seq 0 and removes
// everything else.
func (x *Index) load() error {
	ents, err := x.fs.ReadDir(x.dir)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	var bases []uint64
	for _, e := range ents {
		name := e.Name()
		if base, ok := parseChunkFileName(name); ok {
			bases = append(bases, base)
		} else if strings.HasSuffix(name, ".tmp") {
			x.remove(name, "unfinished write")
		} else if name != lockName && name != IdentityFile {
			x.log.Warn("search: ignoring unknown file", "file", filepath.Join(x.dir, name))
		}
	}
	slices.Sort(bases)
	var buf []byte
	broken := false
	for _, base := range bases {
		name := chunkFileName(base)
		if broken {
			x.remove(name, "follows a missing or damaged chunk")
			continue
		}
		if want := uint64(len(x.sealed)) * uint64(x.chunkSize); base != want {
			x.log.Error("search: chunk missing; the index ends there and is rebuilt from the log",
				"file", filepath.Join(x.dir, chunkFileName(want)))
			broken = true
			x.remove(name, "follows a missing or damaged chunk")
			continue
		}
		s, err := x.openChunk(name, base, &buf)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				x.closeSealed()
				return err
			}
			x.log.Error("search: damaged chunk; the index ends there and is rebuilt from the log", "err", err)
			broken = true
			x.remove(name, "damaged")
			continue
		}
		x.sealed = append(x.sealed, sealedChunk(s))
	}
	return nil
}

func (x *Index) remove(name, why string) {
	path := filepath.Join(x.dir, name)
	if err := x.fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		x.log.Warn("search: removing file", "file", path, "reason", why, "err", err)
		return
	}
	x.log.Info("search: removed file", "file", path, "reason", why)
}

// openChunk opens and verifies one chunk file. It returns an ErrCorrupt
// error for any content problem, and a plain error for I/O failures.
func (x *Index) openChunk(name string, base uint64, buf *[]byte) (*sealed, error) {
	path := filepath.Join(x.dir, name)
	f, err := fsx.Open(x.fs, path)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("search: %w", err)
	}
	size := fi.Size()
	if size < headerSize || size > 1<<40 {
		f.Close()
		return nil, corruptf(path, 0, "implausible size %d", size)
	}
	if int64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if n, err := f.ReadAt(b, 0); n != len(b) {
		f.Close()
		if err == nil || errors.Is(err, io.EOF) {
			return nil, corruptf(path, int64(n), "file shrank while being read")
		}
		return nil, fmt.Errorf("search: %w", err)
	}
	sum, err := decodeChunk(b, path, false)
	if err == nil && (sum.h.base != base || sum.h.chunkSize != x.chunkSize || sum.h.count != x.chunkSize) {
		err = corruptf(path, 12, "header (base %d, chunk size %d, %d events) does not fit a full chunk named %s of size %d",
			sum.h.base, sum.h.chunkSize, sum.h.count, name, x.chunkSize)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return newSealed(sum, path, f, f, size, x.log, x.bufs), nil
}

func (x *Index) closeSealed() {
	for _, c := range x.sealed {
		c.src.(*sealed).unref()
	}
	x.sealed = nil
}

// Covered returns the number of leading seqs indexed: every seq below it
// is, none above.
func (x *Index) Covered() uint64 { return x.covered.Load() }

// Add indexes the canonical entry at seq, which MUST be Covered(). It
// parses the entry itself (stele.RecordFields), does no I/O, and returns
// once the event is visible to new Snapshots. When the event fills a
// chunk, the chunk is written in the background; Add then waits only if
// more than maxPending full chunks are queued while writes succeed.
func (x *Index) Add(seq uint64, entry []byte) error {
	if covered := x.covered.Load(); seq != covered {
		return fmt.Errorf("%w: Add(%d), want %d", ErrOutOfOrder, seq, covered)
	}
	x.mu.RLock()
	closed, m := x.closed, x.active
	x.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := x.ex.extract(entry); err != nil {
		return fmt.Errorf("%w: seq %d: %v", ErrInvalid, seq, err)
	}
	m.add(x.ex)
	x.covered.Store(seq + 1)
	if (seq+1)%uint64(x.chunkSize) == 0 {
		x.rotate(m)
	}
	return nil
}

// rotate queues the full chunk m for writing and starts the next one.
func (x *Index) rotate(m *memChunk) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pending = append(x.pending, &pending{mem: m, chunk: memChunkView(m)})
	x.active = newMemChunk(m.base+uint64(x.chunkSize), x.seed)
	x.active.presize(m)
	wakeUp(x.wake)
	for !x.closed && (len(x.pending) > maxPending && x.writeErr == nil || len(x.pending) > maxPendingFailing) {
		x.changed.Wait()
	}
}

func wakeUp(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Flush waits until every full chunk is written. It does not write the
// partial chunk, which is rebuilt from the log after a restart. If a write
// fails while Flush waits, Flush returns its error (the chunk stays in
// memory and is retried in the background).
func (x *Index) Flush() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	fails := x.fails
	wakeUp(x.wake)
	for len(x.pending) > 0 {
		if x.closed {
			return ErrClosed
		}
		if x.fails != fails {
			return x.writeErr
		}
		x.changed.Wait()
	}
	if x.closed {
		return ErrClosed
	}
	return nil
}

// Close writes the full chunks still queued (one attempt, skipped while
// writes are failing), stops background work and releases the directory.
// The partial chunk is not written. Chunks of open Snapshots stay readable
// until the Snapshots are closed.
func (x *Index) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return ErrClosed
	}
	x.closed = true
	x.changed.Broadcast()
	x.mu.Unlock()
	close(x.done)
	x.wg.Wait()
	x.mu.Lock()
	x.closeSealed()
	x.pending, x.active = nil, nil
	x.mu.Unlock()
	return x.lock.Close()
}

// Stats returns the index's current size.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := Stats{Chunks: len(x.sealed), Pending: len(x.pending), Events: x.covered.Load(), SealErrors: x.fails}
	for _, c := range x.sealed {
		s := c.src.(*sealed)
		st.DiskBytes += s.size
		st.MemBytes += s.memBytes()
	}
	for _, p := range x.pending {
		if p.mem != nil {
			st.MemBytes += p.mem.memBytes()
		} else {
			st.MemBytes += int64(cap(p.data)) + p.enc.memBytes()
		}
	}
	if x.active != nil {
		x.active.mu.RLock()
		st.MemBytes += x.active.memBytes()
		x.active.mu.RUnlock()
	}
	return st
}

// Snapshot is a consistent read view of the index.
type Snapshot struct {
	chunks []*Chunk
	refs   []*sealed
}

// Snapshot returns the chunks that overlap [lo, hi) ∩ [0, Covered()) as of
// the call, in seq order, the newest possibly a frozen prefix of the chunk
// being filled. Adds after the call are not visible through it. Close it
// when done, so that its files can be closed.
func (x *Index) Snapshot(lo, hi uint64) (*Snapshot, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, ErrClosed
	}
	snap := &Snapshot{}
	if lo >= hi {
		return snap, nil
	}
	cs := uint64(x.chunkSize)
	add := func(c *Chunk) {
		if c.n > 0 && c.base < hi && c.base+uint64(c.n) > lo {
			snap.chunks = append(snap.chunks, c)
			if s, ok := c.src.(*sealed); ok {
				s.ref()
				snap.refs = append(snap.refs, s)
			}
		}
	}
	for k := lo / cs; k < uint64(len(x.sealed)) && k*cs < hi; k++ {
		add(x.sealed[k])
	}
	for _, p := range x.pending {
		add(p.chunk)
	}
	if x.active.base < hi {
		add(memChunkView(x.active))
	}
	return snap, nil
}

// Chunks returns the snapshot's chunks in seq order.
func (s *Snapshot) Chunks() []*Chunk { return s.chunks }

// Close releases the snapshot. Its Chunks must not be used afterwards.
func (s *Snapshot) Close() {
	for _, r := range s.refs {
		r.unref()
	}
	s.refs, s.chunks = nil, nil
}
