package tiles

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// maxTileLevels is the number of tile levels a tree with a uint64 size can
// have: a tile at level 8 would start at leaf 256^9 > 2^64.
const maxTileLevels = 8

// arenaSize is the number of bytes the Builder allocates at a time for the
// node hashes that compact.Range keeps. compact.Range stores every hash as
// its own []byte, so handing out 32-byte slices of a shared arena turns about
// two 32-byte allocations per leaf into one 64 KiB allocation per ~1000
// leaves. The range keeps at most 64 hashes alive, so old arenas become
// garbage quickly.
const arenaSize = 64 << 10

// Builder incrementally builds the tiles of a growing tree: it keeps the
// compact range of the tree (its right edge) and the partial tile of every
// level, and hands out each tile as it becomes full. It is not safe for
// concurrent use.
type Builder struct {
	rng   *compact.Range
	fact  compact.RangeFactory
	tiles [maxTileLevels]*[Width * HashSize]byte // current tile of each level, allocated on first use
	full  func(t Tile, hashes []byte)            // callback of the Append in progress
	visit compact.VisitFn                        // b.visitNode, bound once so Append does not allocate
	arena []byte
}

// NewBuilder returns a Builder for the empty tree.
func NewBuilder() *Builder {
	b := newBuilder()
	b.rng = b.fact.NewEmptyRange(0)
	return b
}

func newBuilder() *Builder {
	b := &Builder{}
	b.fact.Hash = b.hashChildren
	b.visit = b.visitNode
	return b
}

// NewBuilderFromPartials returns a Builder for a tree of the given size whose
// partial tiles are partials[level] (PartialWidth(level, size) hashes each;
// entries past the last non-empty level may be omitted). The partial tiles
// determine the tree's whole right edge, so no other input is needed; the
// caller is responsible for having authenticated them, for example by
// comparing Root with a signed checkpoint or Range with a verified range.
func NewBuilderFromPartials(size uint64, partials [][]byte) (*Builder, error) {
	if len(partials) > maxTileLevels {
		return nil, fmt.Errorf("%w: %d partial tile levels, at most %d", ErrRange, len(partials), maxTileLevels)
	}
	b := newBuilder()
	var hashes [][]byte
	// The compact range lists subtrees from the largest (leftmost) down, so
	// walk tile levels top-down and each partial tile's width bits high to
	// low: bit k of level L's width is a subtree of height 8L+k.
	for level := maxTileLevels - 1; level >= 0; level-- {
		w := PartialWidth(level, size)
		var data []byte
		if level < len(partials) {
			data = partials[level]
		}
		if len(data) != w*HashSize {
			return nil, fmt.Errorf("%w: partial tile at level %d has %d bytes, want %d for size %d", ErrTileSize, level, len(data), w*HashSize, size)
		}
		if w == 0 {
			continue
		}
		copy(b.tile(level)[:], data)
		off := 0
		for k := Height - 1; k >= 0; k-- {
			if w&(1<<k) == 0 {
				continue
			}
			run := (1 << k) * HashSize
			h := subtreeHash(data[off : off+run])
			hashes = append(hashes, b.store(&h))
			off += run
		}
	}
	rng, err := b.fact.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("tiles: rebuilding compact range: %w", err)
	}
	b.rng = rng
	return b, nil
}

// ResumeBuilder returns a Builder for the tree of the given size, which must
// be a multiple of Width, reading only full tiles from r: each level's
// partial tile is recomputed by hashing the full tiles of the level below
// that it covers (at most 255 per level). It trusts r; check Root against the
// last signed checkpoint before appending.
func ResumeBuilder(ctx context.Context, r HashReader, size uint64) (*Builder, error) {
	if size%Width != 0 {
		return nil, fmt.Errorf("%w: resume size %d is not a multiple of %d", ErrRange, size, Width)
	}
	partials := make([][]byte, maxTileLevels)
	for level := 1; level < maxTileLevels; level++ {
		w := PartialWidth(level, size)
		if w == 0 {
			continue
		}
		first := (size >> (Height * uint(level+1))) * Width // first child tile index at level-1
		data := make([]byte, 0, w*HashSize)
		for i := range uint64(w) {
			child := Tile{Level: level - 1, Index: first + i, Width: Width}
			hashes, err := r.ReadTile(ctx, child)
			if err != nil {
				return nil, fmt.Errorf("tiles: resuming at size %d: reading %s: %w", size, child.Path(), err)
			}
			if len(hashes) != Width*HashSize {
				return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrTileSize, child.Path(), len(hashes), Width*HashSize)
			}
			h := subtreeHash(hashes)
			data = append(data, h[:]...)
		}
		partials[level] = data
	}
	return NewBuilderFromPartials(size, partials)
}

// Append adds one leaf hash to the tree. For every tile, at any level, that
// becomes full, it calls full (if not nil) with the tile and its Width*HashSize
// bytes, lowest level first. The bytes alias the Builder's memory and are
// valid only during the call; full MUST NOT call the Builder.
func (b *Builder) Append(leafHash *[HashSize]byte, full func(t Tile, hashes []byte)) {
	b.full = full
	// compact.Range keeps the leaf hash if it does not merge it right away,
	// so it needs a copy the caller cannot change.
	err := b.rng.Append(b.store(leafHash), b.visit)
	b.full = nil
	if err != nil {
		// Append of one leaf to a range starting at 0 cannot fail; an error
		// means the range was corrupted in memory.
		panic("tiles: compact range append: " + err.Error())
	}
}

// visitNode records every node at a tile boundary level (0, 8, 16, ...) in
// its level's tile and hands out tiles as they fill.
func (b *Builder) visitNode(id compact.NodeID, hash []byte) {
	if id.Level%Height != 0 {
		return
	}
	level := int(id.Level / Height)
	tile := b.tile(level)
	pos := id.Index % Width
	copy(tile[pos*HashSize:], hash)
	if pos == Width-1 && b.full != nil {
		b.full(Tile{Level: level, Index: id.Index / Width, Width: Width}, tile[:])
	}
}

func (b *Builder) tile(level int) *[Width * HashSize]byte {
	if b.tiles[level] == nil {
		b.tiles[level] = new([Width * HashSize]byte)
	}
	return b.tiles[level]
}

// hashChildren is the compact.HashFn: the RFC 6962 node hash, stored in the
// arena.
func (b *Builder) hashChildren(left, right []byte) []byte {
	h := hashChildren(left, right)
	return b.store(&h)
}

// store copies h into the arena and returns the copy.
func (b *Builder) store(h *[HashSize]byte) []byte {
	if len(b.arena) < HashSize {
		b.arena = make([]byte, arenaSize)
	}
	out := b.arena[:HashSize:HashSize]
	b.arena = b.arena[HashSize:]
	copy(out, h[:])
	return out
}

// Size returns the number of leaves in the tree.
func (b *Builder) Size() uint64 { return b.rng.End() }

// Root returns the RFC 6962 root hash of the tree (SHA-256("") when empty).
// It folds the compact range from the right like compact.Range.GetRootHash,
// but on the stack: Root runs on every group commit and GetRootHash would
// allocate every intermediate hash.
func (b *Builder) Root() [HashSize]byte {
	hs := b.rng.Hashes()
	if len(hs) == 0 {
		return emptyRoot
	}
	root := [HashSize]byte(hs[len(hs)-1])
	for i := len(hs) - 2; i >= 0; i-- {
		root = hashChildren(hs[i], root[:])
	}
	return root
}

// Range returns the compact range of the tree: the hashes of its maximal
// perfect subtrees, largest (leftmost) first. Together with Size it commits
// to the whole tree and is enough to extend it.
func (b *Builder) Range() [][HashSize]byte {
	hs := b.rng.Hashes()
	out := make([][HashSize]byte, len(hs))
	for i, h := range hs {
		out[i] = [HashSize]byte(h)
	}
	return out
}

// AppendPartial appends to dst the first width hashes of the current partial
// tile at level and reports true, if width is at most that tile's width
// (PartialWidth(level, b.Size())). Otherwise it returns dst unchanged and
// false: a full tile is only available through Append's callback. Width 0 at
// a level in 0..7 always succeeds.
func (b *Builder) AppendPartial(dst []byte, level int, width int) ([]byte, bool) {
	if level < 0 || level >= maxTileLevels || width < 0 || width > PartialWidth(level, b.Size()) {
		return dst, false
	}
	if width == 0 {
		return dst, true
	}
	return append(dst, b.tiles[level][:width*HashSize]...), true
}
