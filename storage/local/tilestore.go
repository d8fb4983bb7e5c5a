package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/tiles"
)

// tileStore holds the hash tiles. The right edge of the tree (the partial
// tile at every level) lives in memory in the Builder; full tiles are written
// to disk by a background writer and served from memory until they land.
//
// Full tiles are derived data: they are written without fsync and made
// durable in bulk by a periodic syncfs, after which tiles.synced records the
// tree size up to which every full tile is durable. Recovery recomputes any
// tile beyond that watermark from the segments.
type tileStore struct {
	fs     fsx.FS
	dir    string // data directory
	logger *slog.Logger

	mu      sync.RWMutex
	builder *tiles.Builder
	pending map[tileKey][]byte // full tiles not yet on disk

	wake chan struct{} // nudges the writer

	writtenMu sync.Mutex
	queue     []fullTile // full tiles to write, in the order they became full
	// writtenThrough is the tree size at which the newest written tile
	// became full; every tile queued before it is on disk too.
	writtenThrough uint64
	synced         uint64 // last watermark written
	lastDir        string // tile directory known to exist (writer goroutine only)
	writeErr       error  // last background write error, for health reporting
}

type tileKey struct {
	level int
	index uint64
}

type fullTile struct {
	key    tileKey
	doneAt uint64 // tree size when the tile became full
}

func newTileStore(fsys fsx.FS, dir string, logger *slog.Logger) *tileStore {
	return &tileStore{
		fs:      fsys,
		dir:     dir,
		logger:  logger,
		pending: make(map[tileKey][]byte),
		wake:    make(chan struct{}, 1),
	}
}

func (ts *tileStore) path(t tiles.Tile) string { return filepath.Join(ts.dir, t.Path()) }

// appendLeaves adds leaf hashes to the tree. Tiles that become full are
// queued for writing. Only the committer calls it.
func (ts *tileStore) appendLeaves(leaves [][32]byte) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for i := range leaves {
		ts.builder.Append(&leaves[i], ts.onFull)
	}
}

// onFull runs under ts.mu.
func (ts *tileStore) onFull(t tiles.Tile, hashes []byte) {
	k := tileKey{t.Level, t.Index}
	ts.pending[k] = bytes.Clone(hashes)
	ts.writtenMu.Lock()
	ts.queue = append(ts.queue, fullTile{key: k, doneAt: ts.builder.Size()})
	ts.writtenMu.Unlock()
	select {
	case ts.wake <- struct{}{}:
	default:
	}
}

func (ts *tileStore) size() uint64 {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.builder.Size()
}

func (ts *tileStore) root() [32]byte {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.builder.Root()
}

// ReadTile returns the first t.Width hashes of tile t. The caller checks
// that the tile is covered by a published checkpoint.
func (ts *tileStore) ReadTile(ctx context.Context, t tiles.Tile) ([]byte, error) {
	ts.mu.RLock()
	if ts.builder != nil && partialIndex(ts.builder.Size(), t.Level) == t.Index {
		b, ok := ts.builder.AppendPartial(nil, t.Level, t.Width)
		ts.mu.RUnlock()
		if !ok {
			return nil, fmt.Errorf("tile %s: %w", t.Path(), stele.ErrNotFound)
		}
		return b, nil
	}
	if full, ok := ts.pending[tileKey{t.Level, t.Index}]; ok {
		b := bytes.Clone(full[:t.Width*tiles.HashSize])
		ts.mu.RUnlock()
		return b, nil
	}
	ts.mu.RUnlock()
	return ts.readDiskTile(ctx, t)
}

// readDiskTile reads the first t.Width hashes of a full tile file.
func (ts *tileStore) readDiskTile(_ context.Context, t tiles.Tile) ([]byte, error) {
	full := tiles.Tile{Level: t.Level, Index: t.Index, Width: tiles.Width}
	b, err := fsx.ReadFile(ts.fs, ts.path(full))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tile %s: %w", full.Path(), stele.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("local: read tile %s: %w", full.Path(), err)
	}
	if len(b) != tiles.Width*tiles.HashSize {
		return nil, &stele.CorruptionError{File: full.Path(), Offset: -1, Seq: -1, Reason: fmt.Sprintf("tile is %d bytes, want %d", len(b), tiles.Width*tiles.HashSize)}
	}
	return b[:t.Width*tiles.HashSize], nil
}

// partialIndex is the index of the rightmost (partial) tile at level for a
// tree of the given size.
func partialIndex(size uint64, level int) uint64 {
	for range level + 1 {
		size /= tiles.Width
	}
	return size
}

// writeTile writes a full tile file read-only. Normally the file does not
// exist yet and is created in place (readers are served from the pending map
// until this returns, and a crash mid-write is repaired by recovery because
// the tile is beyond the durable watermark). An existing file that differs
// (a tile that was not durable at a crash) is replaced atomically. It
// reports whether it wrote.
func (ts *tileStore) writeTile(k tileKey, hashes []byte) (bool, error) {
	t := tiles.Tile{Level: k.level, Index: k.index, Width: tiles.Width}
	path := ts.path(t)
	if dir := filepath.Dir(path); dir != ts.lastDir {
		if err := ts.fs.MkdirAll(dir, 0o755); err != nil {
			return false, err
		}
		ts.lastDir = dir
	}
	f, err := ts.fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return ts.replaceTile(t, path, hashes)
	}
	if err != nil {
		return false, err
	}
	if _, err := f.Write(hashes); err != nil {
		f.Close()
		ts.fs.Remove(path)
		return false, err
	}
	if err := f.Close(); err != nil {
		ts.fs.Remove(path)
		return false, err
	}
	return true, nil
}

// replaceTile makes an existing tile file hold hashes, if it does not already.
func (ts *tileStore) replaceTile(t tiles.Tile, path string, hashes []byte) (bool, error) {
	if old, err := fsx.ReadFile(ts.fs, path); err == nil && bytes.Equal(old, hashes) {
		return false, nil
	}
	ts.logger.Warn("rewriting a tile that was not durable before a crash", "tile", t.Path())
	tmp := path + ".tmp"
	ts.fs.Remove(tmp)
	f, err := ts.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return false, err
	}
	if _, err := f.Write(hashes); err != nil {
		f.Close()
		ts.fs.Remove(tmp)
		return false, err
	}
	if err := f.Close(); err != nil {
		ts.fs.Remove(tmp)
		return false, err
	}
	if err := ts.fs.Rename(tmp, path); err != nil {
		ts.fs.Remove(tmp)
		return false, err
	}
	return true, nil
}

// run writes queued tiles until ctx is done, then makes one last attempt
// at whatever is still queued.
func (ts *tileStore) run(ctx context.Context) {
	backoff := 10 * time.Millisecond
	for {
		if err := ts.writeQueued(); err != nil {
			ts.logger.Error("tile write failed; will retry", "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				ts.writeQueued()
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
		select {
		case <-ts.wake:
		case <-ctx.Done():
			ts.writeQueued()
			return
		}
	}
}

// writeQueued writes queued tiles in order, stopping at the first failure
// (which stays queued).
func (ts *tileStore) writeQueued() error {
	for {
		ts.writtenMu.Lock()
		if len(ts.queue) == 0 {
			ts.writtenMu.Unlock()
			return nil
		}
		ft := ts.queue[0]
		ts.writtenMu.Unlock()

		ts.mu.RLock()
		hashes := ts.pending[ft.key]
		ts.mu.RUnlock()
		if _, err := ts.writeTile(ft.key, hashes); err != nil {
			ts.writtenMu.Lock()
			ts.writeErr = err
			ts.writtenMu.Unlock()
			return fmt.Errorf("tile %d/%d: %w", ft.key.level, ft.key.index, err)
		}
		ts.mu.Lock()
		delete(ts.pending, ft.key)
		ts.mu.Unlock()
		ts.writtenMu.Lock()
		ts.queue = ts.queue[1:]
		ts.writtenThrough = max(ts.writtenThrough, ft.doneAt)
		ts.writeErr = nil
		ts.writtenMu.Unlock()
	}
}

// sync makes written tiles durable and advances the watermark. size is the
// current tree size: when no tile is pending, everything up to it is durable.
func (ts *tileStore) sync() error {
	ts.mu.RLock()
	idle := len(ts.pending) == 0
	size := ts.builder.Size()
	ts.mu.RUnlock()
	ts.writtenMu.Lock()
	mark := ts.writtenThrough
	ts.writtenMu.Unlock()
	if idle {
		// Every full tile of the tree at size is on disk (the builder only
		// adds tiles under ts.mu, and none is pending).
		mark = max(mark, size)
	}
	if mark <= ts.synced {
		return nil
	}
	if err := ts.fs.SyncAll(ts.dir); err != nil {
		return fmt.Errorf("local: sync tiles: %w", err)
	}
	if err := fsx.WriteFileAtomic(ts.fs, filepath.Join(ts.dir, watermarkF), []byte(strconv.FormatUint(mark, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("local: write %s: %w", watermarkF, err)
	}
	ts.synced = mark
	return nil
}

func readWatermark(fsys fsx.FS, dir string) (uint64, error) {
	raw, err := fsx.ReadFile(fsys, filepath.Join(dir, watermarkF))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return 0, &stele.CorruptionError{File: watermarkF, Offset: 0, Seq: -1, Reason: "not a number"}
	}
	return n, nil
}
