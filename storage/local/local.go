// Package local is stele's embedded storage driver: a sealed, append-only
// log in one directory on local disk.
//
// It owns sequencing (seq assignment and idempotency), group commit (one
// write and one fdatasync for every batch that arrived while the previous
// fsync ran), sealing (Merkle tree update and a signed C2SP checkpoint per
// group), the tile store that serves C2SP tlog-tiles, and recovery.
//
// Guarantees:
//   - Append returns only after every event of the batch is durable on disk
//     AND a signed checkpoint covering it exists.
//   - A checkpoint is signed only over durable entries, so no two signed
//     checkpoints are ever inconsistent, across crashes and restarts.
//   - Nothing updates or deletes an entry. Sealed segments and full tiles are
//     never rewritten and are made read-only.
//   - After a crash, Open cuts a torn, never-acknowledged tail and refuses to
//     start on any other damage, naming the file, offset and seq.
//
// The byte formats are documented in docs/format.md and in package segment.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/index/ids"
	"github.com/stele-log/stele/internal/fsx"
)

// Options configure a Log. The zero value of every field has a sensible default.
type Options struct {
	// Origin is the log's C2SP origin. Empty means: the origin the directory
	// was created with, or checkpoint.DefaultOrigin(hostname) for a new log.
	Origin string
	// KeyFile is a private note key to sign with. Empty means the data
	// directory's own key, generated on first start.
	KeyFile string
	// FS is the file system seam; nil means the operating system.
	FS fsx.FS
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the log's Prometheus metrics; nil means none.
	Registerer prometheus.Registerer
	// SegmentSize is the size at which the active segment is sealed and a new
	// one started. Default 64 MiB.
	SegmentSize int64
	// MaxGroupBytes bounds one group commit. Default 16 MiB.
	MaxGroupBytes int
	// TileSyncInterval is how often written tiles are made durable. Default 1s.
	TileSyncInterval time.Duration
	// IDMemtableSize is passed to the id index. Default: its own.
	IDMemtableSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Log is an open data directory. All methods are safe for concurrent use.
type Log struct {
	opts   Options
	fs     fsx.FS
	dir    string
	origin string
	signer *checkpoint.Signer
	logger *slog.Logger
	lock   io.Closer
	m      *metrics

	segs  segmentSet
	tiles *tileStore
	ids   *ids.Index

	// Sequencer state.
	seqMu    sync.Mutex
	next     uint64 // next seq to assign
	epoch    uint64 // bumped on every rollback
	idgen    stele.IDGen
	inflight map[string]inflightID // client ids reserved but not yet committed
	stopped  error                 // ErrClosed or ErrFailed once appends must stop

	// Commit queue, in seq order.
	qMu     sync.Mutex
	queue   []*slot
	qWake   chan struct{}
	closing bool

	// Committer-only state.
	writeEnd int64 // bytes in the active segment, including unsynced checkpoint frames
	groupBuf []byte

	sealed atomic.Pointer[sealedState]

	growMu sync.Mutex
	grown  chan struct{} // closed and replaced whenever the sealed size grows
	done   chan struct{} // closed by Close

	stopTiles  context.CancelFunc
	commitDone chan struct{}
	wg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// sealedState is what readers see: the newest signed checkpoint. Entries at
// seq < size are durable, sealed and readable.
type sealedState struct {
	size uint64
	root [32]byte
	note []byte
}

// Open opens (creating if needed) the log in dir, recovering from any crash.
func Open(ctx context.Context, dir string, opts Options) (*Log, error) {
	if opts.FS == nil {
		opts.FS = fsx.OS()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = 64 << 20
	}
	if opts.MaxGroupBytes <= 0 {
		opts.MaxGroupBytes = 16 << 20
	}
	if opts.TileSyncInterval <= 0 {
		opts.TileSyncInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Log{
		opts:     opts,
		fs:       opts.FS,
		dir:      filepath.Clean(dir),
		logger:   opts.Logger,
		inflight: make(map[string]inflightID),
		qWake:    make(chan struct{}, 1),
		grown:    make(chan struct{}),
		done:     make(chan struct{}),
		m:        newMetrics(opts.Registerer),
	}
	if err := mkdirs(l.fs, l.dir); err != nil {
		return nil, err
	}
	lock, err := l.fs.Lock(filepath.Join(l.dir, lockFile))
	if errors.Is(err, fsx.ErrLocked) {
		return nil, fmt.Errorf("local: %s is in use by another stele process: %w", l.dir, stele.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("local: lock %s: %w", l.dir, err)
	}
	l.lock = lock
	if err := l.open(ctx); err != nil {
		l.closeFiles()
		lock.Close()
		return nil, err
	}
	tctx, cancel := context.WithCancel(context.Background())
	l.stopTiles = cancel
	l.commitDone = make(chan struct{})
	go func() { defer close(l.commitDone); l.commitLoop() }()
	l.wg.Add(2)
	go func() { defer l.wg.Done(); l.tiles.run(tctx) }()
	go func() { defer l.wg.Done(); l.syncLoop(tctx) }()
	return l, nil
}

func (l *Log) open(ctx context.Context) error {
	origin := l.opts.Origin
	if origin == "" {
		if _, err := l.fs.Stat(filepath.Join(l.dir, metaFile)); err != nil {
			host, _ := os.Hostname()
			origin = checkpoint.DefaultOrigin(host)
		}
	}
	origin, err := loadIdentity(l.fs, l.dir, origin)
	if err != nil {
		return err
	}
	l.origin = origin
	if l.signer, err = loadKey(l.fs, l.dir, l.opts.KeyFile, origin); err != nil {
		return err
	}
	return l.recover(ctx)
}

// Origin is the log's C2SP origin line.
func (l *Log) Origin() string { return l.origin }

// VerifierKey is the log's public key in note verifier-key form.
func (l *Log) VerifierKey() string { return l.signer.VerifierKey() }

// Checkpoint returns the newest signed checkpoint and its size.
func (l *Log) Checkpoint() (note []byte, size uint64, root [32]byte) {
	s := l.sealed.Load()
	return s.note, s.size, s.root
}

// Size is the number of sealed entries.
func (l *Log) Size() uint64 { return l.sealed.Load().size }

// Wait blocks until the log holds more than size sealed entries, and
// returns the new size. It returns early with ctx's error, or ErrClosed
// when the log closes. Followers (the search indexer, live tails) use it.
func (l *Log) Wait(ctx context.Context, size uint64) (uint64, error) {
	for {
		l.growMu.Lock()
		ch := l.grown
		l.growMu.Unlock()
		if cur := l.Size(); cur > size {
			return cur, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return l.Size(), ctx.Err()
		case <-l.done:
			return l.Size(), fmt.Errorf("local: %w", stele.ErrClosed)
		}
	}
}

// notifyGrowth wakes every Wait.
func (l *Log) notifyGrowth() {
	l.growMu.Lock()
	close(l.grown)
	l.grown = make(chan struct{})
	l.growMu.Unlock()
}

// Health returns nil when the log accepts appends, else why not.
func (l *Log) Health() error {
	l.seqMu.Lock()
	defer l.seqMu.Unlock()
	return l.stopped
}

// Close drains in-flight appends, makes everything durable and releases the
// directory. Appends that arrive during Close fail with ErrClosed.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.close() })
	return l.closeErr
}

func (l *Log) close() error {
	l.seqMu.Lock()
	if l.stopped == nil {
		l.stopped = fmt.Errorf("local: %w", stele.ErrClosed)
	}
	l.seqMu.Unlock()
	l.qMu.Lock()
	l.closing = true
	l.qMu.Unlock()
	close(l.done)
	l.wakeCommitter()
	<-l.commitDone // the committer exits once the queue is empty
	l.stopTiles()  // the tile writer makes a last pass over its queue
	l.wg.Wait()

	var errs []error
	if f := l.segs.active().f; f != nil {
		// Makes the last checkpoint frame durable.
		if err := f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("local: sync active segment: %w", err))
		}
	}
	if err := l.tiles.sync(); err != nil {
		errs = append(errs, err)
	}
	if l.ids != nil {
		if err := l.ids.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("local: flush id index: %w", err))
		}
		if err := l.ids.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	l.closeFiles()
	if err := l.lock.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (l *Log) closeFiles() {
	l.segs.mu.Lock()
	defer l.segs.mu.Unlock()
	for _, sg := range l.segs.segs {
		if sg.f != nil {
			sg.f.Close()
		}
	}
}

// syncLoop periodically makes written tiles durable.
func (l *Log) syncLoop(ctx context.Context) {
	t := time.NewTicker(l.opts.TileSyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.tiles.sync(); err != nil {
				l.logger.Error("tile sync failed; will retry", "err", err)
			}
		}
	}
}
