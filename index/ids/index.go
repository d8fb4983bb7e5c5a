package ids

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stele-log/stele/internal/fsx"
)

// DefaultMemtableSize is the number of ids held in memory before a flush when
// Options.MemtableSize is 0. A full memtable costs about 4 MiB.
const DefaultMemtableSize = 262144

// maxMemtableSize keeps memtable positions within the uint32 slot encoding
// and a run within maxRunEntries.
const maxMemtableSize = 1 << 28

// lockName is the lock file that keeps two processes out of one index.
const lockName = "LOCK"

// Options configures an Index. The zero value is usable.
type Options struct {
	// MemtableSize is how many ids are held in memory before they are
	// flushed to an immutable run (default DefaultMemtableSize).
	MemtableSize int
	// Logger receives background flush and merge errors and events. May be
	// nil.
	Logger *slog.Logger

	// hash replaces the id hash; tests use it to force collisions.
	hash func(seed uint64, id []byte) uint64
	// retryBackoff replaces minBackoff; tests shorten it.
	retryBackoff time.Duration
}

// Index maps event ids to the seqs that may carry them. It is safe for
// concurrent use, but Add calls must be serialized by the caller (they must
// come in seq order anyway).
type Index struct {
	fs           fsx.FS
	dir          string
	log          *slog.Logger
	memtableSize int
	seed         uint64
	testHash     func(seed uint64, id []byte) uint64
	minBackoff   time.Duration
	lock         io.Closer

	covered atomic.Uint64 // mirrors active.end() for lock-free Covered

	mu         sync.RWMutex
	changed    *sync.Cond // on &mu; broadcast on every background state change
	closed     bool
	active     *memtable   // receives Adds
	frozen     []*memtable // full memtables waiting for the flusher, oldest first
	spare      *memtable   // a flushed memtable kept for reuse
	runs       []*run      // live runs, oldest first; they tile [0, frozen[0].base)
	merging    bool
	flushFails uint64 // failed flush attempts so far
	flushErr   error  // last flush error; nil after a successful flush
	mergeErr   error  // last merge error; nil after a successful merge

	flushCh chan struct{} // wakes the flusher (buffered, 1)
	mergeCh chan struct{} // wakes the merger (buffered, 1)
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// Open opens or creates the index in dir (created if missing) on the given
// FS. It takes an exclusive lock on dir/LOCK, removes leftover temporary
// files and runs that a merge made redundant, and verifies every live run
// completely (checksums and structure); a damaged run fails Open with a
// *CorruptionError (wrapping ErrCorrupt). Because the index is derived data,
// the caller's remedy is to delete dir and rebuild.
func Open(fsys fsx.FS, dir string, opts Options) (*Index, error) {
	if opts.MemtableSize == 0 {
		opts.MemtableSize = DefaultMemtableSize
	}
	if opts.MemtableSize < 1 || opts.MemtableSize > maxMemtableSize {
		return nil, fmt.Errorf("ids: MemtableSize %d outside [1, %d]", opts.MemtableSize, maxMemtableSize)
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
		return nil, fmt.Errorf("ids: %w", err)
	}
	x := &Index{
		fs:           fsys,
		dir:          dir,
		log:          logger,
		memtableSize: opts.MemtableSize,
		testHash:     opts.hash,
		minBackoff:   cmp.Or(opts.retryBackoff, minBackoff),
		lock:         lock,
		flushCh:      make(chan struct{}, 1),
		mergeCh:      make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
	x.changed = sync.NewCond(&x.mu)
	covered, err := x.load()
	if err != nil {
		lock.Close()
		return nil, err
	}
	x.active = newMemtable(covered, x.memtableSize)
	x.covered.Store(covered)
	x.wg.Add(2)
	go x.flushLoop()
	go x.mergeLoop()
	wake(x.mergeCh) // runs left unmerged by a previous process
	return x, nil
}

// createDir creates dir (and missing parents) and makes the new entries
// durable, so that runs written into dir survive a crash. It syncs dir's
// parent even when dir exists: a previous Open may have created dir and
// failed before the sync.
func createDir(fsys fsx.FS, dir string) error {
	dir = filepath.Clean(dir)
	var missing []string // dir and the ancestors that do not exist, deepest first
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := fsys.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ids: %w", err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ids: %w", err)
	}
	if len(missing) == 0 {
		missing = []string{dir}
	}
	for _, d := range missing {
		if err := fsys.SyncDir(filepath.Dir(d)); err != nil {
			return fmt.Errorf("ids: %w", err)
		}
	}
	return nil
}

// load opens the live runs in x.dir and returns the seq they cover up to.
//
// The live runs are the chain that tiles [0, covered) starting at seq 0,
// taking at each step the run that reaches furthest: after a merge the merged
// run wins over its inputs, which are removed here if a crash left them
// behind. Runs that do not continue the chain cannot arise from a crash (each
// run is durable before the next one is written); they are removed with a
// warning, which only makes Covered smaller.
func (x *Index) load() (uint64, error) {
	ents, err := x.fs.ReadDir(x.dir)
	if err != nil {
		return 0, fmt.Errorf("ids: %w", err)
	}
	type candidate struct {
		name       string
		first, end uint64
	}
	var cands []candidate
	var remove []string
	for _, e := range ents {
		name := e.Name()
		if first, end, ok := parseRunFileName(name); ok {
			cands = append(cands, candidate{name, first, end})
		} else if strings.HasSuffix(name, ".tmp") {
			remove = append(remove, name)
		} else if name != lockName {
			x.log.Warn("ids: ignoring unknown file", "file", filepath.Join(x.dir, name))
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(b.end, a.end))
	})
	var live []candidate
	covered := uint64(0)
	for _, c := range cands {
		if c.first == covered {
			live = append(live, c)
			covered = c.end
			continue
		}
		if c.end > covered {
			x.log.Warn("ids: removing run outside the chain from seq 0", "file", filepath.Join(x.dir, c.name), "covered", covered)
		}
		remove = append(remove, c.name)
	}
	for i, c := range live {
		r, err := x.openRun(c.name, c.first, c.end, i == 0)
		if err != nil {
			for _, r := range x.runs {
				r.unref()
			}
			x.runs = nil
			return 0, err
		}
		x.runs = append(x.runs, r)
	}
	if len(x.runs) == 0 {
		if x.seed, err = newSeed(); err != nil {
			return 0, fmt.Errorf("ids: seed: %w", err)
		}
	}
	for _, name := range remove {
		if err := x.fs.Remove(filepath.Join(x.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			x.log.Warn("ids: removing stale file", "file", filepath.Join(x.dir, name), "err", err)
		}
	}
	if len(remove) > 0 {
		if err := x.fs.SyncDir(x.dir); err != nil {
			x.log.Warn("ids: syncing dir after cleanup", "dir", x.dir, "err", err)
		}
	}
	return covered, nil
}

// openRun opens and fully verifies a live run. The first run sets the seed;
// every other must agree.
func (x *Index) openRun(name string, first, end uint64, setSeed bool) (*run, error) {
	path := filepath.Join(x.dir, name)
	f, err := fsx.Open(x.fs, path)
	if err != nil {
		return nil, fmt.Errorf("ids: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ids: %w", err)
	}
	hdr, fences, filter, err := decodeRun(f, fi.Size(), path)
	if err == nil && (hdr.first != first || hdr.end != end) {
		err = corruptf(path, hdrFirst, "header range [%d, %d) does not match the file name", hdr.first, hdr.end)
	}
	if err == nil && setSeed {
		x.seed = hdr.seed
	}
	if err == nil && hdr.seed != x.seed {
		err = corruptf(path, hdrSeed, "hash seed %#x differs from the index's %#x", hdr.seed, x.seed)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return newRun(x.fs, path, x.log, f, hdr, fences, filter), nil
}

func (x *Index) hash(id []byte) uint64 {
	if x.testHash != nil {
		return x.testHash(x.seed, id)
	}
	return hashID(x.seed, id)
}

// wake sends a non-blocking signal on a 1-buffered channel.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Covered reports the seq up to which the index is complete: every id of
// every seq < Covered() has been Added (possibly before a restart). After
// Open, the caller MUST re-Add the seqs in [Covered(), logSize) from the log
// before relying on Lookup for them.
func (x *Index) Covered() uint64 { return x.covered.Load() }

// maxQueuedMemtables is how many full memtables may wait for the flusher
// before Add waits for it (only while flushes succeed).
const maxQueuedMemtables = 2

// Add records that seq has the given id. seq MUST equal Covered(); Covered()
// becomes seq+1. A full memtable is handed to a background flusher, so Add
// does no I/O. It waits only when ids arrive faster than the flusher can
// write them: if more than maxQueuedMemtables full memtables are queued and
// the flusher is not failing, Add waits until one is written. At 250,000
// ids/s that never happens (a flush takes tens of milliseconds per 262,144
// ids); it paces bulk re-Adds such as a rebuild, which would otherwise hold
// the whole backlog in memory. If flushes fail, Add never waits: memory grows
// until they succeed (see Err).
func (x *Index) Add(id []byte, seq uint64) error {
	h := x.hash(id)
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return ErrClosed
	}
	if want := x.active.end(); seq != want {
		x.mu.Unlock()
		return fmt.Errorf("%w: Add(seq %d), want seq %d", ErrOutOfOrder, seq, want)
	}
	x.active.add(h)
	x.covered.Store(seq + 1)
	if x.active.full() {
		x.freezeLocked()
		for len(x.frozen) > maxQueuedMemtables && x.flushErr == nil && !x.closed {
			x.changed.Wait()
		}
	}
	x.mu.Unlock()
	return nil
}

// freezeLocked queues the active memtable for flushing and starts a new one.
func (x *Index) freezeLocked() {
	end := x.active.end()
	x.frozen = append(x.frozen, x.active)
	if x.spare != nil {
		x.active, x.spare = x.spare, nil
		x.active.base = end
	} else {
		x.active = newMemtable(end, x.memtableSize)
	}
	wake(x.flushCh)
}

// Lookup appends to dst every seq whose id MAY equal id, newest first. A
// match means the 64-bit hashes are equal; the caller confirms by reading the
// entry. It reads from disk only when a run's bloom filter matches, so an
// absent id almost never costs I/O. Safe concurrently with Add.
func (x *Index) Lookup(dst []uint64, id []byte) ([]uint64, error) {
	h := x.hash(id)
	var candBuf [8]*run
	cands := candBuf[:0]
	x.mu.RLock()
	if x.closed {
		x.mu.RUnlock()
		return dst, ErrClosed
	}
	// An absent id costs one cache miss per run filter (plus the memtable
	// probe), nearly all of its time. Load the first word of every filter
	// block before testing any, so that the misses overlap rather than
	// queue behind each other and behind mispredicted branches.
	runs := x.runs
	var blocks, first [probeBatch]uint64
	batch := min(len(runs), probeBatch)
	for i := range batch {
		f := &runs[len(runs)-1-i].filter
		blocks[i] = f.block(h)
		first[i] = f.words[blocks[i]]
	}
	dst = x.active.lookup(dst, h)
	for i := len(x.frozen) - 1; i >= 0; i-- {
		dst = x.frozen[i].lookup(dst, h)
	}
	y := bloomMix(h)
	for i := range batch {
		if r := runs[len(runs)-1-i]; r.filter.test(blocks[i], first[i], y) {
			r.ref()
			cands = append(cands, r)
		}
	}
	for i := len(runs) - 1 - batch; i >= 0; i-- {
		if r := runs[i]; r.filter.mayContain(h) {
			r.ref()
			cands = append(cands, r)
		}
	}
	x.mu.RUnlock()
	var err error
	for _, r := range cands {
		if err == nil {
			dst, err = r.lookup(dst, h)
		}
		r.unref()
	}
	return dst, err
}

// probeBatch is how many runs' filter blocks Lookup loads ahead; the merge
// policy keeps far fewer runs than this live.
const probeBatch = 16

// Flush writes every id added so far to disk durably, so that after a clean
// shutdown Open needs no replay. It waits for the background flusher; if a
// flush attempt fails while it waits, it returns that error and the data
// stays in memory (the flusher keeps retrying).
func (x *Index) Flush() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	if x.active.len() > 0 {
		x.freezeLocked()
	}
	target := x.active.base
	fails := x.flushFails
	wake(x.flushCh)
	for len(x.frozen) > 0 && x.frozen[0].base < target {
		if x.closed {
			return ErrClosed
		}
		if x.flushFails != fails {
			return x.flushErr
		}
		x.changed.Wait()
	}
	return nil
}

// Err reports a persistent background failure: the last flush error if the
// flusher has not succeeded since, else the last merge error, else nil.
// Flush failures keep data in memory and are retried with backoff; merge
// failures leave the inputs live. Both are also logged.
func (x *Index) Err() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.flushErr != nil {
		return x.flushErr
	}
	return x.mergeErr
}

// Close stops background work and releases the directory. It does not flush:
// ids not yet in a run are lost and are re-Added from the log after the next
// Open (call Flush first to avoid that). A merge in progress is abandoned.
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
	runs := x.runs
	x.runs, x.frozen, x.active, x.spare = nil, nil, nil, nil
	x.mu.Unlock()
	for _, r := range runs {
		r.unref()
	}
	return x.lock.Close()
}
