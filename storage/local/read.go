package local

import (
	"bytes"
	"context"
	"fmt"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/tiles"
)

// Readers only ever see sealed entries: seq < Size().

// Entry returns a copy of the canonical entry at seq.
func (l *Log) Entry(ctx context.Context, seq uint64) ([]byte, error) {
	if size := l.Size(); seq >= size {
		return nil, fmt.Errorf("seq %d is beyond the log size %d: %w", seq, size, stele.ErrNotFound)
	}
	var out []byte
	err := l.segs.readEntries(seq, 1, func(_ uint64, entry []byte) error {
		out = bytes.Clone(entry)
		return nil
	})
	return out, err
}

// EntryByID returns the seq and a copy of the entry whose id is id.
func (l *Log) EntryByID(ctx context.Context, id []byte) (uint64, []byte, error) {
	cands, err := l.ids.Lookup(nil, id)
	if err != nil {
		return 0, nil, fmt.Errorf("local: id index: %w", err)
	}
	size := l.Size()
	for _, seq := range cands {
		if seq >= size {
			continue
		}
		entry, err := l.Entry(ctx, seq)
		if err != nil {
			return 0, nil, err
		}
		got, err := entryID(entry)
		if err != nil {
			return 0, nil, err
		}
		if bytes.Equal(got, id) {
			return seq, entry, nil
		}
	}
	return 0, nil, fmt.Errorf("id %q: %w", id, stele.ErrNotFound)
}

// Entries calls fn for up to limit sealed entries starting at from, in
// order. The entry slice is only valid during the call.
func (l *Log) Entries(ctx context.Context, from uint64, limit int, fn func(seq uint64, entry []byte) error) error {
	size := l.Size()
	if from >= size || limit <= 0 {
		return nil
	}
	count := min(uint64(limit), size-from)
	return l.segs.readEntries(from, int(count), func(seq uint64, entry []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(seq, entry)
	})
}

// ReadTile returns hash tile t (C2SP tlog-tiles) if the newest checkpoint
// covers it.
func (l *Log) ReadTile(ctx context.Context, t tiles.Tile) ([]byte, error) {
	if !covered(l.Size(), t) {
		return nil, fmt.Errorf("tile %s is not covered by the current checkpoint: %w", t.Path(), stele.ErrNotFound)
	}
	return l.tiles.ReadTile(ctx, t)
}

// ReadEntryBundle returns entry bundle index with width entries (C2SP
// tlog-tiles) if the newest checkpoint covers it.
func (l *Log) ReadEntryBundle(ctx context.Context, index uint64, width int) ([]byte, error) {
	if !covered(l.Size(), tiles.Tile{Level: 0, Index: index, Width: width}) {
		return nil, fmt.Errorf("entry bundle %d.p/%d is not covered by the current checkpoint: %w", index, width, stele.ErrNotFound)
	}
	bundle := make([]byte, 0, width*400)
	err := l.segs.readEntries(index*tiles.Width, width, func(_ uint64, entry []byte) error {
		var err error
		bundle, err = tiles.AppendBundleEntry(bundle, entry)
		return err
	})
	return bundle, err
}

// covered reports whether a tree of the given size has tile t: the tile's
// hashes must all be complete nodes of that tree.
func covered(size uint64, t tiles.Tile) bool {
	if t.Width < 1 || t.Width > tiles.Width || t.Level < 0 || t.Level > 63 {
		return false
	}
	nodes := size >> (8 * uint(t.Level)) // complete nodes at tree level 8*t.Level
	return t.Index <= nodes/tiles.Width && t.Index*tiles.Width+uint64(t.Width) <= nodes
}

// InclusionProof proves that entry seq is in the tree of the given size,
// which must not exceed the newest checkpoint's.
func (l *Log) InclusionProof(ctx context.Context, seq, size uint64) ([][32]byte, error) {
	if cur := l.Size(); size > cur {
		return nil, fmt.Errorf("tree size %d is beyond the log size %d: %w", size, cur, stele.ErrNotFound)
	}
	if seq >= size {
		return nil, fmt.Errorf("seq %d is not below tree size %d: %w", seq, size, stele.ErrInvalid)
	}
	return tiles.InclusionProof(ctx, l.tiles, seq, size)
}

// ConsistencyProof proves that the tree of size old is a prefix of the tree
// of size new, which must not exceed the newest checkpoint's.
func (l *Log) ConsistencyProof(ctx context.Context, old, new uint64) ([][32]byte, error) {
	if cur := l.Size(); new > cur {
		return nil, fmt.Errorf("tree size %d is beyond the log size %d: %w", new, cur, stele.ErrNotFound)
	}
	if old > new {
		return nil, fmt.Errorf("old size %d is larger than new size %d: %w", old, new, stele.ErrInvalid)
	}
	return tiles.ConsistencyProof(ctx, l.tiles, old, new)
}

// RootAt returns the root hash of the tree of the given size.
func (l *Log) RootAt(ctx context.Context, size uint64) ([32]byte, error) {
	if cur := l.Size(); size > cur {
		return [32]byte{}, fmt.Errorf("tree size %d is beyond the log size %d: %w", size, cur, stele.ErrNotFound)
	}
	return tiles.RootHash(ctx, l.tiles, size)
}
