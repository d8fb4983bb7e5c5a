package tiles

import (
	"errors"
	"math"
	"testing"
)

func TestPath(t *testing.T) {
	tests := []struct {
		name    string
		tile    Tile
		path    string
		entries string
	}{
		{"zero", Tile{0, 0, Width}, "tile/0/000", "tile/entries/000"},
		{"partial", Tile{0, 0, 7}, "tile/0/000.p/7", "tile/entries/000.p/7"},
		{"three digits", Tile{1, 999, Width}, "tile/1/999", "tile/entries/999"},
		{"two groups", Tile{2, 1000, 255}, "tile/2/x001/000.p/255", "tile/entries/x001/000.p/255"},
		{"spec example", Tile{3, 1234067, Width}, "tile/3/x001/x234/067", "tile/entries/x001/x234/067"},
		{"max level", Tile{63, 5, 1}, "tile/63/005.p/1", "tile/entries/005.p/1"},
		{"max index", Tile{0, math.MaxUint64, Width}, "tile/0/x018/x446/x744/x073/x709/x551/615", "tile/entries/x018/x446/x744/x073/x709/x551/615"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tile.Path(); got != tt.path {
				t.Errorf("Path() = %q, want %q", got, tt.path)
			}
			if got := tt.tile.EntriesPath(); got != tt.entries {
				t.Errorf("EntriesPath() = %q, want %q", got, tt.entries)
			}
			tile, entries, err := ParsePath(tt.path)
			if err != nil || entries || tile != tt.tile {
				t.Errorf("ParsePath(%q) = %+v, %v, %v; want %+v, false, nil", tt.path, tile, entries, err, tt.tile)
			}
			want := tt.tile
			want.Level = 0
			tile, entries, err = ParsePath(tt.entries)
			if err != nil || !entries || tile != want {
				t.Errorf("ParsePath(%q) = %+v, %v, %v; want %+v, true, nil", tt.entries, tile, entries, err, want)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"empty", ""},
		{"leading slash", "/tile/0/000"},
		{"wrong prefix", "tiles/0/000"},
		{"no index", "tile/0"},
		{"empty index", "tile/0/"},
		{"empty level", "tile//000"},
		{"level leading zero", "tile/00/000"},
		{"level leading zero 2", "tile/01/000"},
		{"level plus", "tile/+1/000"},
		{"level minus", "tile/-1/000"},
		{"level 64", "tile/64/000"},
		{"level huge", "tile/1000/000"},
		{"level hex", "tile/0x1/000"},
		{"sumdb height path", "tile/8/0/000"},
		{"sumdb data path", "tile/8/data/000"},
		{"data instead of entries", "tile/data/000"},
		{"entries capitalised", "tile/Entries/000"},
		{"index two digits", "tile/0/01"},
		{"index four digits", "tile/0/0001"},
		{"index not digits", "tile/0/abc"},
		{"index with x on last group", "tile/0/x001"},
		{"index group without x", "tile/0/001/234"},
		{"index leading zero group", "tile/0/x000/001"},
		{"index leading zero group entries", "tile/entries/x000/x001/234"},
		{"index empty group", "tile/0/x001//234"},
		{"index trailing slash", "tile/0/000/"},
		{"index overflow", "tile/0/x018/x446/x744/x073/x709/x551/616"},
		{"index too many groups", "tile/0/x001/x000/x000/x000/x000/x000/x000/000"},
		{"index uppercase X", "tile/0/X001/234"},
		{"partial width 0", "tile/0/000.p/0"},
		{"partial width 256", "tile/0/000.p/256"},
		{"partial width leading zero", "tile/0/000.p/07"},
		{"partial width empty", "tile/0/000.p/"},
		{"partial width plus", "tile/0/000.p/+7"},
		{"partial without width", "tile/0/000.p"},
		{"partial trailing junk", "tile/0/000.p/7/"},
		{"partial trailing junk 2", "tile/0/000.p/7x"},
		{"partial twice", "tile/0/000.p/7.p/7"},
		{"partial marker mid index", "tile/0/x001.p/7/234"},
		{"trailing junk", "tile/0/000x"},
		{"trailing dot", "tile/0/000."},
		{"query string", "tile/0/000?a=b"},
		{"backslash", "tile\\0\\000"},
		{"space", "tile/0/000 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tile, entries, err := ParsePath(tt.path)
			if !errors.Is(err, ErrMalformedPath) {
				t.Fatalf("ParsePath(%q) = %+v, %v, %v; want ErrMalformedPath", tt.path, tile, entries, err)
			}
		})
	}
}

func TestPartialWidth(t *testing.T) {
	// The spec's example: a tree of size 70,000 has a level 0 partial tile
	// of width 112, a level 1 partial tile of width 17 and a level 2
	// partial tile of width 1; a tree of size 256 has only a level 1
	// partial tile of width 1.
	tests := []struct {
		name  string
		level int
		size  uint64
		want  int
	}{
		{"70000 level 0", 0, 70000, 112},
		{"70000 level 1", 1, 70000, 17},
		{"70000 level 2", 2, 70000, 1},
		{"70000 level 3", 3, 70000, 0},
		{"256 level 0", 0, 256, 0},
		{"256 level 1", 1, 256, 1},
		{"empty", 0, 0, 0},
		{"max size level 7", 7, math.MaxUint64, 255},
		{"level 8", 8, math.MaxUint64, 0},
		{"level 63", 63, math.MaxUint64, 0},
		{"negative level", -1, 70000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PartialWidth(tt.level, tt.size); got != tt.want {
				t.Errorf("PartialWidth(%d, %d) = %d, want %d", tt.level, tt.size, got, tt.want)
			}
		})
	}
}

func TestTileWidth(t *testing.T) {
	tests := []struct {
		name  string
		level int
		index uint64
		size  uint64
		want  int
	}{
		{"full", 0, 272, 70000, Width},
		{"partial", 0, 273, 70000, 112},
		{"beyond", 0, 274, 70000, 0},
		{"level 1 full", 1, 0, 70000, Width},
		{"level 1 partial", 1, 1, 70000, 17},
		{"level 2 partial", 2, 0, 70000, 1},
		{"level 3 none", 3, 0, 70000, 0},
		{"exactly full", 0, 0, 256, Width},
		{"after exactly full", 0, 1, 256, 0},
		{"level 8", 8, 0, math.MaxUint64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TileWidth(tt.level, tt.index, tt.size); got != tt.want {
				t.Errorf("TileWidth(%d, %d, %d) = %d, want %d", tt.level, tt.index, tt.size, got, tt.want)
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string) {
		tile, entries, err := ParsePath(p)
		if err != nil {
			if !errors.Is(err, ErrMalformedPath) {
				t.Fatalf("ParsePath(%q): error %v does not wrap ErrMalformedPath", p, err)
			}
			return
		}
		if tile.Width < 1 || tile.Width > Width || tile.Level < 0 || tile.Level > MaxLevel {
			t.Fatalf("ParsePath(%q) = %+v: out of range", p, tile)
		}
		got := tile.Path()
		if entries {
			got = tile.EntriesPath()
		}
		if got != p {
			t.Fatalf("ParsePath(%q) = %+v, %v; path of that is %q", p, tile, entries, got)
		}
	})
}
