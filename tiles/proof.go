package tiles

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

var (
	// ErrTileSize means a HashReader returned a tile whose length is not
	// Width*HashSize bytes for the width asked for.
	ErrTileSize = errors.New("tiles: tile has the wrong size")

	// ErrRange means a proof or root was asked for an index or tree size the
	// request cannot cover (index ≥ size, size1 > size2, size not a multiple
	// of Width where one is required).
	ErrRange = errors.New("tiles: out of range")
)

// HashReader reads hash tiles.
type HashReader interface {
	// ReadTile returns the t.Width*HashSize bytes of tile t. The caller
	// MUST NOT modify them. A tile that exists in a larger width may be cut
	// down to t.Width; a reader MUST NOT return a different width.
	ReadTile(ctx context.Context, t Tile) ([]byte, error)
}

// HashReaderFunc adapts a function to HashReader.
type HashReaderFunc func(ctx context.Context, t Tile) ([]byte, error)

// ReadTile calls f.
func (f HashReaderFunc) ReadTile(ctx context.Context, t Tile) ([]byte, error) { return f(ctx, t) }

// treeReader computes node hashes of the tree of one size from its tiles,
// reading each tile at most once.
type treeReader struct {
	r     HashReader
	size  uint64
	tiles map[Tile][]byte
}

func newTreeReader(r HashReader, size uint64) *treeReader {
	return &treeReader{r: r, size: size, tiles: make(map[Tile][]byte)}
}

// tile returns the tile at level and index in the width it has at t.size:
// the narrowest one that must exist (partial tiles only exist for sizes with
// a checkpoint, so a partial tile for any other width may be missing).
func (tr *treeReader) tile(ctx context.Context, level int, index uint64) ([]byte, error) {
	t := Tile{Level: level, Index: index, Width: TileWidth(level, index, tr.size)}
	if data, ok := tr.tiles[t]; ok {
		return data, nil
	}
	if t.Width == 0 {
		// Only reachable through a bug in the node arithmetic.
		return nil, fmt.Errorf("%w: tile %d/%d does not exist at size %d", ErrRange, level, index, tr.size)
	}
	data, err := tr.r.ReadTile(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("tiles: reading %s: %w", t.Path(), err)
	}
	if len(data) != t.Width*HashSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrTileSize, t.Path(), len(data), t.Width*HashSize)
	}
	tr.tiles[t] = data
	return data, nil
}

// node returns the hash of a perfect subtree inside the tree. A node at tree
// level l is a run of 2^(l mod 8) consecutive hashes of the level l/8 tile
// (a single hash when l is a multiple of 8).
func (tr *treeReader) node(ctx context.Context, id compact.NodeID) ([HashSize]byte, error) {
	level := int(id.Level / Height)
	sub := id.Level % Height
	first := id.Index << sub // index of the run's first hash within the tile level
	data, err := tr.tile(ctx, level, first/Width)
	if err != nil {
		return [HashSize]byte{}, err
	}
	lo := int(first%Width) * HashSize
	hi := lo + HashSize<<sub
	if hi > len(data) {
		return [HashSize]byte{}, fmt.Errorf("%w: node %d/%d is not in the tree of size %d", ErrRange, id.Level, id.Index, tr.size)
	}
	return subtreeHash(data[lo:hi]), nil
}

// hashes returns the hashes of the given nodes.
func (tr *treeReader) hashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := tr.node(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = h[:]
	}
	return out, nil
}

// RootHash returns the RFC 6962 root hash of the tree of the given size,
// computed from its tiles.
func RootHash(ctx context.Context, r HashReader, size uint64) ([HashSize]byte, error) {
	if size == 0 {
		return emptyRoot, nil
	}
	tr := newTreeReader(r, size)
	hs, err := tr.hashes(ctx, compact.RangeNodes(0, size, nil))
	if err != nil {
		return [HashSize]byte{}, err
	}
	// The compact range runs left to right from the largest subtree; the
	// root folds it from the right.
	root := [HashSize]byte(hs[len(hs)-1])
	for i := len(hs) - 2; i >= 0; i-- {
		root = hashChildren(hs[i], root[:])
	}
	return root, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of the leaf at index in
// the tree of the given size, computed from its tiles.
func InclusionProof(ctx context.Context, r HashReader, index, size uint64) ([][HashSize]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("%w: inclusion of index %d in tree size %d", ErrRange, index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRange, err)
	}
	return rehash(ctx, newTreeReader(r, size), nodes)
}

// ConsistencyProof returns the RFC 6962 consistency proof from the tree of
// size1 to the tree of size2, computed from the tiles of the size2 tree. It is
// empty when size1 is 0 or equals size2.
func ConsistencyProof(ctx context.Context, r HashReader, size1, size2 uint64) ([][HashSize]byte, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("%w: consistency from size %d to smaller size %d", ErrRange, size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRange, err)
	}
	return rehash(ctx, newTreeReader(r, size2), nodes)
}

// rehash reads the proof's nodes and folds the runs that make up its
// ephemeral (non-perfect) node.
func rehash(ctx context.Context, tr *treeReader, nodes proof.Nodes) ([][HashSize]byte, error) {
	hs, err := tr.hashes(ctx, nodes.IDs)
	if err != nil {
		return nil, err
	}
	hs, err = nodes.Rehash(hs, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("tiles: rehashing proof: %w", err)
	}
	out := make([][HashSize]byte, len(hs))
	for i, h := range hs {
		out[i] = [HashSize]byte(h)
	}
	return out, nil
}
