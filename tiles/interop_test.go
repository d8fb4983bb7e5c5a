package tiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// This file checks the package against an independent implementation of the
// same tree, golang.org/x/mod/sumdb/tlog, which stores every node hash and
// tiles them with height 8 under "tile/8/<L>/..." paths.

// refTree is a sumdb/tlog tree kept in memory: every stored hash by its
// storage index.
type refTree struct {
	stored []tlog.Hash
	size   int64
}

func (rt *refTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(rt.stored)) {
			return nil, fmt.Errorf("ref: stored hash %d not present (have %d)", idx, len(rt.stored))
		}
		out[i] = rt.stored[idx]
	}
	return out, nil
}

func (rt *refTree) append(t *testing.T, leaf tlog.Hash) {
	t.Helper()
	hs, err := tlog.StoredHashesForRecordHash(rt.size, leaf, rt)
	if err != nil {
		t.Fatalf("ref StoredHashes(%d): %v", rt.size, err)
	}
	rt.stored = append(rt.stored, hs...)
	rt.size++
}

// tileData returns the reference bytes of one of our tiles.
func (rt *refTree) tileData(t *testing.T, tile Tile) []byte {
	t.Helper()
	data, err := tlog.ReadTileData(tlog.Tile{H: Height, L: tile.Level, N: int64(tile.Index), W: tile.Width}, rt)
	if err != nil {
		t.Fatalf("ref ReadTileData(%s): %v", tile.Path(), err)
	}
	return data
}

// sizeReader serves the reference tree's tiles as they exist at one tree
// size and fails the test if a caller asks for a width that is not the
// narrowest valid one for that size, or reads a tile twice in one call.
type sizeReader struct {
	t     *testing.T
	rt    *refTree
	size  uint64
	reads map[Tile]int
}

func newSizeReader(t *testing.T, rt *refTree, size uint64) *sizeReader {
	return &sizeReader{t: t, rt: rt, size: size, reads: make(map[Tile]int)}
}

func (sr *sizeReader) ReadTile(_ context.Context, tile Tile) ([]byte, error) {
	if want := TileWidth(tile.Level, tile.Index, sr.size); tile.Width != want || want == 0 {
		sr.t.Errorf("size %d: read %s, want width %d", sr.size, tile.Path(), want)
		return nil, errors.New("bad width")
	}
	if sr.reads[tile]++; sr.reads[tile] > 1 {
		sr.t.Errorf("size %d: %s read %d times in one call", sr.size, tile.Path(), sr.reads[tile])
	}
	return sr.rt.tileData(sr.t, tile), nil
}

func (sr *sizeReader) reset() { clear(sr.reads) }

func interopSizes(rng *rand.Rand) map[uint64]bool {
	sizes := map[uint64]bool{}
	for n := uint64(1); n <= 300; n++ {
		sizes[n] = true
	}
	for p := uint64(1); p <= 65536; p *= 2 {
		sizes[p-1], sizes[p], sizes[p+1] = true, true, true
	}
	for _, n := range []uint64{511, 512, 513, 767, 768, 769, 4095, 4096, 4097, 65535, 65536, 65537, 65792, 65793, 66048, 70000} {
		sizes[n] = true
	}
	for range 60 {
		sizes[1+rng.Uint64N(70000)] = true
	}
	delete(sizes, 0)
	return sizes
}

func TestInteropWithSumdbTlog(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := interopSizes(rng)
	var largest uint64
	for n := range sizes {
		largest = max(largest, n)
	}

	rt := &refTree{}
	b := NewBuilder()
	fullTiles := 0
	onFull := func(tile Tile, hashes []byte) {
		fullTiles++
		if !tile.Full() {
			t.Errorf("Append reported non-full tile %s", tile.Path())
		}
		if want := rt.tileData(t, tile); !bytes.Equal(hashes, want) {
			t.Errorf("full tile %s differs from sumdb/tlog", tile.Path())
		}
	}
	var entry [16]byte
	for n := uint64(1); n <= largest; n++ {
		for i := range entry {
			entry[i] = byte(rng.Uint32())
		}
		leaf := tlog.RecordHash(entry[:])
		rt.append(t, leaf)
		b.Append((*[HashSize]byte)(&leaf), onFull)
		if !sizes[n] {
			continue
		}
		checkSize(ctx, t, rng, rt, b, n)
		if t.Failed() {
			t.Fatalf("stopping at size %d", n)
		}
	}
	if want := int(largest/256 + largest/65536); fullTiles != want {
		t.Errorf("Append reported %d full tiles, want %d", fullTiles, want)
	}
}

// checkSize compares everything at one tree size.
func checkSize(ctx context.Context, t *testing.T, rng *rand.Rand, rt *refTree, b *Builder, n uint64) {
	refRoot, err := tlog.TreeHash(int64(n), rt)
	if err != nil {
		t.Fatalf("ref TreeHash(%d): %v", n, err)
	}
	if got := b.Size(); got != n {
		t.Fatalf("Builder.Size = %d, want %d", got, n)
	}
	if got := b.Root(); got != refRoot {
		t.Errorf("size %d: Builder.Root = %x, want %x", n, got, refRoot)
	}
	sr := newSizeReader(t, rt, n)
	root, err := RootHash(ctx, sr, n)
	if err != nil || root != refRoot {
		t.Errorf("size %d: RootHash = %x, %v; want %x", n, root, err, refRoot)
	}

	// Partial tiles of the Builder, and their paths, against sumdb's list
	// of tiles for the tree.
	for _, rtile := range tlog.NewTiles(Height, 0, int64(n)) {
		tile := Tile{Level: rtile.L, Index: uint64(rtile.N), Width: rtile.W}
		if got, want := tile.Path(), strings.Replace(rtile.Path(), "tile/8/", "tile/", 1); got != want {
			t.Errorf("Path = %q, sumdb says %q", got, want)
		}
		if got := TileWidth(tile.Level, tile.Index, n); got != tile.Width {
			t.Errorf("TileWidth(%d, %d, %d) = %d, want %d", tile.Level, tile.Index, n, got, tile.Width)
		}
		if tile.Full() {
			continue
		}
		if got := PartialWidth(tile.Level, n); got != tile.Width {
			t.Errorf("PartialWidth(%d, %d) = %d, want %d", tile.Level, n, got, tile.Width)
		}
		got, ok := b.AppendPartial(nil, tile.Level, tile.Width)
		if !ok || !bytes.Equal(got, rt.tileData(t, tile)) {
			t.Errorf("size %d: AppendPartial(%s) = %v, differs from sumdb", n, tile.Path(), ok)
		}
		if _, ok := b.AppendPartial(nil, tile.Level, tile.Width+1); ok {
			t.Errorf("size %d: AppendPartial(level %d, width %d) beyond the partial tile succeeded", n, tile.Level, tile.Width+1)
		}
		if tile.Level == 0 {
			dataTile := tlog.Tile{H: Height, L: -1, N: rtile.N, W: rtile.W}
			if got, want := tile.EntriesPath(), strings.Replace(dataTile.Path(), "tile/8/data/", "tile/entries/", 1); got != want {
				t.Errorf("EntriesPath = %q, sumdb says %q", got, want)
			}
		}
	}

	// Inclusion proofs.
	indexes := []uint64{0, n - 1, n / 2}
	for range 4 {
		indexes = append(indexes, rng.Uint64N(n))
	}
	for _, idx := range indexes {
		sr.reset()
		got, err := InclusionProof(ctx, sr, idx, n)
		if err != nil {
			t.Errorf("InclusionProof(%d, %d): %v", idx, n, err)
			continue
		}
		want, err := tlog.ProveRecord(int64(n), int64(idx), rt)
		if err != nil {
			t.Fatalf("ref ProveRecord(%d, %d): %v", n, idx, err)
		}
		if !sameHashes(got, want) {
			t.Errorf("InclusionProof(%d, %d) differs from sumdb", idx, n)
		}
	}

	// Consistency proofs.
	olds := []uint64{0, 1, n / 2, n - 1, n}
	for range 4 {
		olds = append(olds, 1+rng.Uint64N(n))
	}
	for _, old := range olds {
		sr.reset()
		got, err := ConsistencyProof(ctx, sr, old, n)
		if err != nil {
			t.Errorf("ConsistencyProof(%d, %d): %v", old, n, err)
			continue
		}
		var want tlog.TreeProof
		if old > 0 {
			if want, err = tlog.ProveTree(int64(n), int64(old), rt); err != nil {
				t.Fatalf("ref ProveTree(%d, %d): %v", n, old, err)
			}
		}
		if !sameHashes(got, want) {
			t.Errorf("ConsistencyProof(%d, %d) = %d hashes, differs from sumdb (%d hashes)", old, n, len(got), len(want))
		}
	}

	if n%Width == 0 {
		checkResume(ctx, t, rt, b, n)
	}
}

// checkResume rebuilds a Builder from full tiles and compares its state.
func checkResume(ctx context.Context, t *testing.T, rt *refTree, b *Builder, n uint64) {
	fullOnly := HashReaderFunc(func(_ context.Context, tile Tile) ([]byte, error) {
		if !tile.Full() || TileWidth(tile.Level, tile.Index, n) != Width {
			t.Errorf("ResumeBuilder(%d) read %s, which is not a full tile", n, tile.Path())
		}
		return rt.tileData(t, tile), nil
	})
	rb, err := ResumeBuilder(ctx, fullOnly, n)
	if err != nil {
		t.Fatalf("ResumeBuilder(%d): %v", n, err)
	}
	if rb.Size() != n || rb.Root() != b.Root() {
		t.Errorf("ResumeBuilder(%d): size %d root %x, want %x", n, rb.Size(), rb.Root(), b.Root())
	}
	if !sameArrays(rb.Range(), b.Range()) {
		t.Errorf("ResumeBuilder(%d): compact range differs", n)
	}
	for level := range maxTileLevels {
		w := PartialWidth(level, n)
		got, ok1 := rb.AppendPartial(nil, level, w)
		want, ok2 := b.AppendPartial(nil, level, w)
		if !ok1 || !ok2 || !bytes.Equal(got, want) {
			t.Errorf("ResumeBuilder(%d): partial tile at level %d differs", n, level)
		}
	}
}

// TestSumdbReadsBuilderTiles serves the Builder's tiles to sumdb/tlog's own
// tile-based hash reader, which authenticates every tile against the tree
// hash, and asks it for proofs.
func TestSumdbReadsBuilderTiles(t *testing.T) {
	const n = 70000
	rng := rand.New(rand.NewPCG(3, 4))
	b := NewBuilder()
	stored := map[string][]byte{}
	keep := func(tile Tile, hashes []byte) { stored[tile.Path()] = bytes.Clone(hashes) }
	var leaves []tlog.Hash
	for range n {
		var leaf [HashSize]byte
		for i := range leaf {
			leaf[i] = byte(rng.Uint32())
		}
		leaves = append(leaves, leaf)
		b.Append(&leaf, keep)
	}
	for level := range maxTileLevels {
		w := PartialWidth(level, n)
		if w == 0 {
			continue
		}
		data, _ := b.AppendPartial(nil, level, w)
		stored[Tile{Level: level, Index: n >> (Height * uint(level+1)), Width: w}.Path()] = data
	}
	tree := tlog.Tree{N: n, Hash: b.Root()}
	hr := tlog.TileHashReader(tree, builderTiles(stored))
	for range 50 {
		idx := rng.Int64N(n)
		p, err := tlog.ProveRecord(n, idx, hr)
		if err != nil {
			t.Fatalf("sumdb ProveRecord(%d) over Builder tiles: %v", idx, err)
		}
		if err := tlog.CheckRecord(p, n, tree.Hash, idx, leaves[idx]); err != nil {
			t.Fatalf("sumdb CheckRecord(%d): %v", idx, err)
		}
	}
}

type builderTiles map[string][]byte

func (builderTiles) Height() int { return Height }

func (bt builderTiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, rtile := range ts {
		p := strings.Replace(rtile.Path(), "tile/8/", "tile/", 1)
		data, ok := bt[p]
		if !ok {
			// sumdb may ask for a narrower width than we keep; any
			// prefix of a wider tile is valid.
			tile, _, err := ParsePath(p)
			if err != nil {
				return nil, err
			}
			for w := tile.Width + 1; w <= Width && !ok; w++ {
				tile.Width = w
				data, ok = bt[tile.Path()]
			}
			if !ok {
				return nil, fmt.Errorf("no tile %s", p)
			}
			data = data[:rtile.W*HashSize]
		}
		out[i] = data
	}
	return out, nil
}

func (builderTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func sameHashes[H ~[HashSize]byte](got [][HashSize]byte, want []H) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != [HashSize]byte(want[i]) {
			return false
		}
	}
	return true
}

func sameArrays(a, b [][HashSize]byte) bool { return sameHashes(a, b) }
