package tiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

func TestHashChildrenMatchesRFC6962(t *testing.T) {
	l, r := sha256.Sum256([]byte("l")), sha256.Sum256([]byte("r"))
	got := hashChildren(l[:], r[:])
	if want := rfc6962.DefaultHasher.HashChildren(l[:], r[:]); !bytes.Equal(got[:], want) {
		t.Fatalf("hashChildren = %x, want %x", got, want)
	}
	if want := rfc6962.DefaultHasher.EmptyRoot(); !bytes.Equal(emptyRoot[:], want) {
		t.Fatalf("emptyRoot = %x, want %x", emptyRoot, want)
	}
}

func TestBuilderEmpty(t *testing.T) {
	b := NewBuilder()
	if b.Size() != 0 || b.Root() != sha256.Sum256(nil) || len(b.Range()) != 0 {
		t.Fatalf("empty Builder: size %d root %x range %d", b.Size(), b.Root(), len(b.Range()))
	}
	if got, ok := b.AppendPartial([]byte("x"), 0, 0); !ok || string(got) != "x" {
		t.Errorf("AppendPartial(width 0) = %q, %v", got, ok)
	}
	for _, tc := range []struct{ level, width int }{{0, 1}, {0, -1}, {-1, 0}, {8, 0}, {1, 1}} {
		if tc.width == 0 && tc.level >= 0 {
			continue
		}
		if got, ok := b.AppendPartial([]byte("x"), tc.level, tc.width); ok || string(got) != "x" {
			t.Errorf("AppendPartial(%d, %d) on empty = %q, %v; want unchanged, false", tc.level, tc.width, got, ok)
		}
	}
}

func randomLeaves(seed uint64, n int) [][HashSize]byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	leaves := make([][HashSize]byte, n)
	for i := range leaves {
		for j := range leaves[i] {
			leaves[i][j] = byte(rng.Uint32())
		}
	}
	return leaves
}

func TestBuilderFullOrder(t *testing.T) {
	leaves := randomLeaves(5, 2*65536)
	b := NewBuilder()
	var got []Tile
	for i := range leaves {
		b.Append(&leaves[i], func(tile Tile, hashes []byte) {
			if len(hashes) != Width*HashSize {
				t.Fatalf("full tile %s has %d bytes", tile.Path(), len(hashes))
			}
			if tile.Level == 0 && uint64(i) != tile.Index*Width+Width-1 {
				t.Fatalf("level 0 tile %d reported after leaf %d", tile.Index, i)
			}
			got = append(got, tile)
		})
	}
	var want []Tile
	for idx := range uint64(512) {
		want = append(want, Tile{0, idx, Width})
		if idx%Width == Width-1 {
			want = append(want, Tile{1, idx / Width, Width})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d full tiles, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("full tile %d is %s, want %s", i, got[i].Path(), want[i].Path())
		}
	}
}

func TestBuilderNilCallback(t *testing.T) {
	leaves := randomLeaves(6, 1000)
	a, b := NewBuilder(), NewBuilder()
	for i := range leaves {
		a.Append(&leaves[i], nil)
		b.Append(&leaves[i], func(Tile, []byte) {})
	}
	if a.Root() != b.Root() {
		t.Fatalf("nil callback changes the root")
	}
}

// TestResumeContinues checks that a resumed Builder carries on exactly like
// the one that never stopped.
func TestResumeContinues(t *testing.T) {
	const resumeAt, end = 65536 + 512, 70000
	leaves := randomLeaves(7, end)
	stored := map[Tile][]byte{}
	keep := func(tile Tile, hashes []byte) { stored[tile] = bytes.Clone(hashes) }
	live := NewBuilder()
	for i := range resumeAt {
		live.Append(&leaves[i], keep)
	}
	reader := HashReaderFunc(func(_ context.Context, tile Tile) ([]byte, error) {
		data, ok := stored[tile]
		if !ok {
			t.Fatalf("ResumeBuilder asked for %s, which is not a stored full tile", tile.Path())
		}
		return data, nil
	})
	resumed, err := ResumeBuilder(context.Background(), reader, resumeAt)
	if err != nil {
		t.Fatalf("ResumeBuilder: %v", err)
	}
	var liveTiles, resumedTiles [][]byte
	for i := resumeAt; i < end; i++ {
		live.Append(&leaves[i], func(_ Tile, h []byte) { liveTiles = append(liveTiles, bytes.Clone(h)) })
		resumed.Append(&leaves[i], func(_ Tile, h []byte) { resumedTiles = append(resumedTiles, bytes.Clone(h)) })
		if i%97 == 0 && live.Root() != resumed.Root() {
			t.Fatalf("roots differ at size %d", i+1)
		}
	}
	if live.Root() != resumed.Root() || len(liveTiles) != len(resumedTiles) || len(liveTiles) == 0 {
		t.Fatalf("after resume: roots equal %v, %d vs %d full tiles", live.Root() == resumed.Root(), len(liveTiles), len(resumedTiles))
	}
	for i := range liveTiles {
		if !bytes.Equal(liveTiles[i], resumedTiles[i]) {
			t.Fatalf("full tile %d differs after resume", i)
		}
	}
}

func TestResumeBuilderErrors(t *testing.T) {
	ctx := context.Background()
	errRead := errors.New("disk on fire")
	tests := []struct {
		name string
		size uint64
		r    HashReader
		want error
	}{
		{"not a multiple of 256", 300, nil, ErrRange},
		{"reader error", 512, HashReaderFunc(func(context.Context, Tile) ([]byte, error) { return nil, errRead }), errRead},
		{"short tile", 512, HashReaderFunc(func(context.Context, Tile) ([]byte, error) { return make([]byte, 32), nil }), ErrTileSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ResumeBuilder(ctx, tt.r, tt.size); !errors.Is(err, tt.want) {
				t.Fatalf("ResumeBuilder = %v, want %v", err, tt.want)
			}
		})
	}
	// Size 0 and sizes with no partial tiles above level 0 need no reads.
	b, err := ResumeBuilder(ctx, nil, 0)
	if err != nil || b.Size() != 0 || b.Root() != emptyRoot {
		t.Fatalf("ResumeBuilder(0) = %v", err)
	}
}

func TestNewBuilderFromPartialsErrors(t *testing.T) {
	tests := []struct {
		name     string
		size     uint64
		partials [][]byte
	}{
		{"missing level 0", 3, nil},
		{"short level 0", 3, [][]byte{make([]byte, 2*HashSize)}},
		{"long level 0", 3, [][]byte{make([]byte, 4*HashSize)}},
		{"unexpected level 1", 3, [][]byte{make([]byte, 3*HashSize), make([]byte, HashSize)}},
		{"missing level 1", 256, [][]byte{nil}},
		{"too many levels", 3, make([][]byte, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewBuilderFromPartials(tt.size, tt.partials); err == nil {
				t.Fatalf("NewBuilderFromPartials(%d, %d levels) succeeded", tt.size, len(tt.partials))
			}
		})
	}
}

func TestProofErrors(t *testing.T) {
	ctx := context.Background()
	good := HashReaderFunc(func(_ context.Context, tile Tile) ([]byte, error) {
		return make([]byte, tile.Width*HashSize), nil
	})
	short := HashReaderFunc(func(_ context.Context, tile Tile) ([]byte, error) {
		return make([]byte, tile.Width*HashSize-1), nil
	})
	errRead := errors.New("gone")
	failing := HashReaderFunc(func(context.Context, Tile) ([]byte, error) { return nil, errRead })
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"inclusion index = size", func() error { _, err := InclusionProof(ctx, good, 5, 5); return err }, ErrRange},
		{"inclusion empty tree", func() error { _, err := InclusionProof(ctx, good, 0, 0); return err }, ErrRange},
		{"consistency shrinking", func() error { _, err := ConsistencyProof(ctx, good, 6, 5); return err }, ErrRange},
		{"short tile", func() error { _, err := InclusionProof(ctx, short, 1, 5); return err }, ErrTileSize},
		{"root short tile", func() error { _, err := RootHash(ctx, short, 300); return err }, ErrTileSize},
		{"reader error", func() error { _, err := ConsistencyProof(ctx, failing, 3, 5); return err }, errRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
	if root, err := RootHash(ctx, failing, 0); err != nil || root != emptyRoot {
		t.Fatalf("RootHash(0) = %x, %v; want the empty root without reads", root, err)
	}
	if p, err := ConsistencyProof(ctx, failing, 5, 5); err != nil || len(p) != 0 {
		t.Fatalf("ConsistencyProof(5, 5) = %d hashes, %v; want empty without reads", len(p), err)
	}
}

func BenchmarkBuilderAppend(b *testing.B) {
	leaves := randomLeaves(8, 1<<16)
	bl := NewBuilder()
	var fulls int
	onFull := func(Tile, []byte) { fulls++ }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bl.Append(&leaves[i&(1<<16-1)], onFull)
	}
}

func BenchmarkBuilderRoot(b *testing.B) {
	leaves := randomLeaves(9, 1<<16)
	bl := NewBuilder()
	for i := range 1<<20 - 1 { // 20 subtrees in the compact range
		bl.Append(&leaves[i&(1<<16-1)], nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = bl.Root()
	}
}

// memTiles builds the tiles of a tree of size n in memory.
func memTiles(n int) HashReader {
	leaves := randomLeaves(10, n)
	stored := map[Tile][]byte{}
	bl := NewBuilder()
	for i := range leaves {
		bl.Append(&leaves[i], func(tile Tile, h []byte) { stored[tile] = bytes.Clone(h) })
	}
	for level := range maxTileLevels {
		if w := PartialWidth(level, uint64(n)); w > 0 {
			data, _ := bl.AppendPartial(nil, level, w)
			stored[Tile{level, uint64(n) >> (Height * uint(level+1)), w}] = data
		}
	}
	return HashReaderFunc(func(_ context.Context, tile Tile) ([]byte, error) { return stored[tile], nil })
}

func BenchmarkInclusionProof(b *testing.B) {
	const n = 1<<20 + 12345
	r := memTiles(n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := InclusionProof(ctx, r, uint64(i*7919)%n, n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConsistencyProof(b *testing.B) {
	const n = 1<<20 + 12345
	r := memTiles(n)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ConsistencyProof(ctx, r, 1+uint64(i*7919)%n, n); err != nil {
			b.Fatal(err)
		}
	}
}
