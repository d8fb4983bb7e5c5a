package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/tiles"
	"golang.org/x/mod/sumdb/note"
)

// Fetcher reads a log's C2SP tlog-tiles resources.
type Fetcher interface {
	// Fetch returns the resource at path, relative to the log's prefix and
	// without a leading slash: "checkpoint", "tile/0/x001/234.p/7",
	// "tile/entries/000". A missing resource MUST be an error wrapping
	// stele.ErrNotFound. Fetch MUST be safe for concurrent use: Remote
	// fetches several bundles and tiles at once. Fetch bounds sizes itself
	// (a full tile is 8 KiB, a bundle at most 256 entries of 64 KiB).
	Fetch(ctx context.Context, path string) ([]byte, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, path string) ([]byte, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, path string) ([]byte, error) { return f(ctx, path) }

// Remote verifies a log over its tlog-tiles API, as a monitor does, and
// returns the new State for the caller to save and pass as prev next time.
//
// It fetches and opens the checkpoint (signature by v, origin; empty origin
// means v.Name()). Against prev, a smaller size is a rollback and the same
// size with another root is a fork; a larger size needs a consistency proof
// from prev, which Remote builds from the log's tiles and checks. Then it
// fetches every entry bundle from prev.Size (0 without prev) to the new size,
// hashes the entries, extends the tree, recomputes every hash tile that
// changed (full ones as they fill, and the partial ones of the new size),
// compares each with the log's tile, and checks the recomputed root against
// the checkpoint. progress, if not nil, is called after each bundle with the
// entries done and to do.
//
// Verification failures wrap stele.ErrVerify and name what disagreed (tile
// path, hash index, entry index); fetch errors are returned wrapped with the
// path (stele.ErrNotFound for a missing resource); an inconsistent prev is
// stele.ErrInvalid.
func Remote(ctx context.Context, f Fetcher, origin string, v note.Verifier, prev *State, progress func(done, total uint64)) (*State, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: verify: no verifier", stele.ErrInvalid)
	}
	if origin == "" {
		origin = v.Name()
	}
	old := &State{Origin: origin, Root: emptyRoot}
	if prev != nil {
		if prev.Origin != origin {
			return nil, fmt.Errorf("%w: verify: previous state is for %q, not %q", stele.ErrInvalid, prev.Origin, origin)
		}
		if err := prev.check(); err != nil {
			return nil, fmt.Errorf("%w: verify: previous state: %v", stele.ErrInvalid, err)
		}
		old = prev
	}

	signed, err := f.Fetch(ctx, "checkpoint")
	if err != nil {
		return nil, fmt.Errorf("verify: fetching checkpoint: %w", err)
	}
	cp, err := checkpoint.Open(signed, origin, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", stele.ErrVerify, err)
	}
	next := &State{Origin: origin, Size: cp.Size, Root: cp.Hash, Checkpoint: string(signed)}
	switch {
	case cp.Size < old.Size:
		return nil, fmt.Errorf("%w: rollback: checkpoint size %d is smaller than the verified size %d", stele.ErrVerify, cp.Size, old.Size)
	case cp.Size == 0 && cp.Hash != emptyRoot:
		return nil, fmt.Errorf("%w: checkpoint of the empty tree has root %x, want %x", stele.ErrVerify, cp.Hash, emptyRoot)
	case cp.Size == old.Size && cp.Hash != old.Root:
		return nil, fmt.Errorf("%w: fork: checkpoint root at size %d is %x, verified root was %x", stele.ErrVerify, cp.Size, cp.Hash, old.Root)
	case cp.Size == old.Size:
		next.Range = slices.Clone(old.Range)
		return next, nil
	}

	rv := &remoteVerifier{f: f, old: old, cp: cp, cache: map[tiles.Tile][]byte{}}
	if old.Size > 0 {
		p, err := tiles.ConsistencyProof(ctx, rv, old.Size, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("verify: consistency proof from the log's tiles: %w", err)
		}
		if err := consistency(old.Size, cp.Size, p, old.Root, cp.Hash); err != nil {
			return nil, fmt.Errorf("%w: fork: the log's tiles prove no consistency with the verified state: %v", stele.ErrVerify, err)
		}
	}
	b, err := rv.resume(ctx)
	if err != nil {
		return nil, err
	}
	if err := rv.extend(ctx, b, progress); err != nil {
		return nil, err
	}
	if root := b.Root(); root != cp.Hash {
		return nil, fmt.Errorf("%w: root recomputed from the entries is %x, checkpoint says %x", stele.ErrVerify, root, cp.Hash)
	}
	next.Range = b.Range()
	return next, nil
}

// remoteVerifier holds one Remote run.
type remoteVerifier struct {
	f     Fetcher
	old   *State
	cp    checkpoint.Checkpoint
	cache map[tiles.Tile][]byte // tiles read for the proof and the resume; read-only once extend starts
	first [][]byte              // entries of the bundle holding old.Size, if partly verified before
}

// ReadTile makes the remote log a tiles.HashReader, caching what it reads
// (only the few tiles a proof and a resume need go through here).
func (rv *remoteVerifier) ReadTile(ctx context.Context, t tiles.Tile) ([]byte, error) {
	if data, ok := rv.cache[t]; ok {
		return data, nil
	}
	data, err := rv.fetchTile(ctx, t)
	if err != nil {
		return nil, err
	}
	rv.cache[t] = data
	return data, nil
}

func (rv *remoteVerifier) fetchTile(ctx context.Context, t tiles.Tile) ([]byte, error) {
	data, err := rv.f.Fetch(ctx, t.Path())
	if err != nil {
		return nil, fmt.Errorf("verify: fetching %s: %w", t.Path(), err)
	}
	if len(data) != t.Width*tiles.HashSize {
		return nil, fmt.Errorf("%w: tile %s is %d bytes, want %d", stele.ErrVerify, t.Path(), len(data), t.Width*tiles.HashSize)
	}
	return data, nil
}

func (rv *remoteVerifier) fetchBundle(ctx context.Context, index uint64) ([][]byte, error) {
	t := tiles.Tile{Index: index, Width: tiles.TileWidth(0, index, rv.cp.Size)}
	data, err := rv.f.Fetch(ctx, t.EntriesPath())
	if err != nil {
		return nil, fmt.Errorf("verify: fetching %s: %w", t.EntriesPath(), err)
	}
	entries, err := tiles.ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", stele.ErrVerify, t.EntriesPath(), err)
	}
	if len(entries) != t.Width {
		return nil, fmt.Errorf("%w: %s has %d entries, want %d", stele.ErrVerify, t.EntriesPath(), len(entries), t.Width)
	}
	return entries, nil
}

// resume returns a tiles.Builder at the verified size. Its right edge comes
// from the log's current tiles (the part of each partial tile below the
// verified size) and from re-hashing the entries of the bundle holding the
// verified size; the compact range this implies must equal the verified one,
// which authenticates every hash the Builder starts from.
func (rv *remoteVerifier) resume(ctx context.Context) (*tiles.Builder, error) {
	size := rv.old.Size
	partials := make([][]byte, 8)
	for level := 1; level < 8; level++ {
		w := tiles.PartialWidth(level, size)
		if w == 0 {
			continue
		}
		index := size >> (tiles.Height * uint(level+1))
		data, err := rv.ReadTile(ctx, tiles.Tile{Level: level, Index: index, Width: tiles.TileWidth(level, index, rv.cp.Size)})
		if err != nil {
			return nil, err
		}
		partials[level] = data[:w*tiles.HashSize]
	}
	if w := tiles.PartialWidth(0, size); w > 0 {
		entries, err := rv.fetchBundle(ctx, size/tiles.Width)
		if err != nil {
			return nil, err
		}
		rv.first = entries
		for _, e := range entries[:w] {
			h := LeafHash(e)
			partials[0] = append(partials[0], h[:]...)
		}
	}
	b, err := tiles.NewBuilderFromPartials(size, partials)
	if err != nil {
		return nil, fmt.Errorf("verify: rebuilding the tree at size %d: %w", size, err)
	}
	got := b.Range()
	for i := range got {
		if got[i] != rv.old.Range[i] {
			return nil, fmt.Errorf("%w: fork: the log's tiles and entries below the verified size %d do not match the verified compact range (subtree %d of %d)", stele.ErrVerify, size, i, len(got))
		}
	}
	return b, nil
}

// prefetchWindow is how many entry bundles (each with its level 0 tile)
// Remote fetches ahead of the one it is hashing. Over HTTP a fetch costs a
// round trip while hashing a bundle costs tens of microseconds, so fetching
// one at a time would leave a monitor idle almost all the time.
const prefetchWindow = 8

// bundleFetch is one prefetched entry bundle and its level 0 tile.
type bundleFetch struct {
	entries [][]byte
	tile    []byte
	err     error
}

// prefetch fetches bundles first..last and their level 0 tiles, up to
// prefetchWindow at a time, and delivers them in order. Cancelling ctx stops
// it; the returned channel is then closed early. wait blocks until no fetch
// is running, so that Remote never calls the Fetcher after returning.
func (rv *remoteVerifier) prefetch(ctx context.Context, first, last uint64) (results <-chan chan bundleFetch, wait func()) {
	out := make(chan chan bundleFetch, prefetchWindow)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		for index := first; index <= last; index++ {
			ch := make(chan bundleFetch, 1)
			select {
			case out <- ch:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r bundleFetch
				if index != first || rv.first == nil {
					r.entries, r.err = rv.fetchBundle(ctx, index)
				}
				if r.err == nil {
					t := tiles.Tile{Index: index, Width: tiles.TileWidth(0, index, rv.cp.Size)}
					r.tile, r.err = rv.servedTile(ctx, t)
				}
				ch <- r
			}()
		}
	}()
	return out, wg.Wait
}

// extend appends every new entry to b and compares every tile that changes.
func (rv *remoteVerifier) extend(ctx context.Context, b *tiles.Builder, progress func(done, total uint64)) error {
	start, end := rv.old.Size, rv.cp.Size
	ctx, cancel := context.WithCancel(ctx)
	first, last := start/tiles.Width, (end-1)/tiles.Width
	results, wait := rv.prefetch(ctx, first, last)
	defer wait()
	defer cancel() // runs first: stops the prefetcher on every return

	var level0 []byte // the served level 0 tile of the bundle being hashed
	var tileErr error
	onFull := func(t tiles.Tile, hashes []byte) {
		if tileErr != nil {
			return
		}
		served := level0
		if t.Level > 0 {
			served, tileErr = rv.servedTile(ctx, t)
		}
		if tileErr == nil {
			tileErr = compareTile(t, served, hashes)
		}
	}
	index := first
	for next := range results {
		r := <-next
		if r.err != nil {
			return r.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		entries := r.entries
		if index == first && rv.first != nil {
			entries = rv.first
		}
		level0 = r.tile
		for i := b.Size() - index*tiles.Width; i < uint64(len(entries)); i++ {
			h := LeafHash(entries[i])
			b.Append(&h, onFull)
			if tileErr != nil {
				return tileErr
			}
		}
		if progress != nil {
			progress(b.Size()-start, end-start)
		}
		index++
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for level := range 8 {
		w := tiles.PartialWidth(level, end)
		if w == 0 {
			continue
		}
		t := tiles.Tile{Level: level, Index: end >> (tiles.Height * uint(level+1)), Width: w}
		served := level0 // the last bundle's tile is the level 0 partial tile
		if level > 0 {
			var err error
			if served, err = rv.servedTile(ctx, t); err != nil {
				return err
			}
		}
		recomputed, _ := b.AppendPartial(nil, level, w)
		if err := compareTile(t, served, recomputed); err != nil {
			return err
		}
	}
	return nil
}

// servedTile returns tile t as the log serves it, from the cache when the
// proof or the resume already read it.
func (rv *remoteVerifier) servedTile(ctx context.Context, t tiles.Tile) ([]byte, error) {
	if data, ok := rv.cache[t]; ok {
		return data, nil
	}
	return rv.fetchTile(ctx, t)
}

// compareTile compares a served tile with the recomputed hashes, naming the
// first hash that differs.
func compareTile(t tiles.Tile, served, recomputed []byte) error {
	if bytes.Equal(served, recomputed) {
		return nil
	}
	for i := 0; i < t.Width; i++ {
		a, b := served[i*tiles.HashSize:(i+1)*tiles.HashSize], recomputed[i*tiles.HashSize:(i+1)*tiles.HashSize]
		if !bytes.Equal(a, b) {
			first := (t.Index*tiles.Width + uint64(i)) << (tiles.Height * uint(t.Level))
			return fmt.Errorf("%w: tile %s: hash %d (covering entries from %d) is %x, recomputed from the entries %x", stele.ErrVerify, t.Path(), i, first, a, b)
		}
	}
	return errors.New("verify: unreachable: tiles differ but no hash does")
}
